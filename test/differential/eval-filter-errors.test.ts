/**
 * Errors of a predicate called by builtins.filter, tix against the reference
 * Nix 2.8: 2.8 calls it without a position, so a wrong argument for its
 * formals is reported with no location, while errors from its body, and
 * filter's own check of the result, keep theirs.
 */
import { test } from 'node:test';
import { makeRoot, haveReference } from '../harness/index.js';
import { sameOnRoot } from '../harness/compare.js';

const EXPRS = [
  'builtins.filter ({a}: true) [ 1 ]',
  'builtins.filter ({a}: true) [ { a = 1; b = 2; } ]',
  'builtins.filter ({a}: true) [ { } ]',
  'builtins.filter (x: 1) [ 1 ]',
  'builtins.filter (x: x.a) [ 1 ]',
  'builtins.filter ({a}: a) [ { a = 1; } ]',
  'builtins.filter ({a, ...}: a > 0) [ { a = 1; } { a = 0; b = 1; } ]',
];

test('filter predicate errors are placed as 2.8 places them', { skip: !haveReference() }, () => {
  const root = makeRoot();
  try {
    for (const e of EXPRS) sameOnRoot(root, 'nix-instantiate', ['--eval', '--strict', '-E', e]);
  } finally {
    root.cleanup();
  }
});

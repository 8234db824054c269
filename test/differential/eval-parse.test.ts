/**
 * `nix-instantiate --parse -E`: tix prints the same AST as Nix 2.8 (its
 * desugared `Expr::show` form) or fails like it, for every expression in
 * `eval-corpus/*.parse.txt` (syntax forms, precedence, strings, paths,
 * syntax errors, undefined variables, duplicate attributes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haveReference, makeRoot } from '../harness/index.js';
import { compare, corpusEnv, knownList, loadCorpus, makeFixtures, runReference, runTixBatch, showMismatch } from './eval-corpus-lib.js';

test('nix-instantiate --parse agrees with Nix 2.8', { skip: !haveReference() && 'reference Nix not installed', timeout: 300_000 }, async () => {
  const cases = loadCorpus('.parse.txt');
  assert.ok(cases.length >= 200, `parse corpus has ${cases.length} expressions`);
  const root = makeRoot();
  try {
    const work = makeFixtures(root);
    const env = corpusEnv(root, work);
    const [ref, tix] = await Promise.all([
      runReference(cases, env, work, ['--parse']),
      runTixBatch(cases, env, work, root, { mode: 'parse', strict: false }),
    ]);
    const bad = compare(cases, ref, tix);
    const known = knownList('known-divergences.txt');
    const unexpected = bad.filter((m) => !known.has(m.id));
    console.log(`parse corpus: ${cases.length} expressions, ${cases.length - bad.length} agree`);
    assert.deepEqual(unexpected.map(showMismatch), [], 'unexpected divergences');
  } finally {
    root.cleanup();
  }
});

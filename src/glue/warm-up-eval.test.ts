import { test } from 'node:test';
import assert from 'node:assert/strict';
import { warmUpEvaluator, warmUpOutput } from './warm-up-eval.js';

test('the evaluator warm-up evaluates cleanly and purely', () => {
  const r = warmUpOutput();
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  // fib 15, then the derivation's path computed without a store.
  assert.match(r.stdout, /^\[ 610 /);
  assert.match(r.stdout, /"\/nix\/store\/[0-9a-z]{32}-warm\.drv" \]\n$/);
  assert.equal(warmUpEvaluator(1), true);
});

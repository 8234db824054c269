/**
 * `nix-instantiate --parse -E`: tix prints the same AST as Nix 2.8 (its
 * desugared `Expr::show` form) or fails like it, for every expression in
 * `eval-corpus/*.parse.txt` (syntax forms, precedence, strings, paths,
 * syntax errors, undefined variables, duplicate attributes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haveReference, makeRoot } from '../harness/index.js';
import { compare, retryReference, corpusEnv, knownList, loadCorpus, makeFixtures, runReference, runTixBatch, showMismatch } from './eval-corpus-lib.js';

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
    await retryReference(cases, ref, tix, env, work, ['--parse']);
    const bad = compare(cases, ref, tix);
    const known = knownList('known-divergences.txt');
    const unexpected = bad.filter((m) => !known.has(m.id));
    // Error text and position (first line + `at file:line:col`) must match too.
    const where = (s: string) => `${s.split('\n')[0]} @ ${(/at .*?:(\d+:\d+):/.exec(s) ?? [])[1] ?? '-'}`;
    const badErr: string[] = [];
    cases.forEach((c, i) => {
      if (ref[i]!.status === 0 || known.has(`stderr:${c.id}`)) return;
      if (where(ref[i]!.stderr) !== where(tix[i]!.stderr)) badErr.push(`${c.id}: ${c.expr}\n    ref: ${where(ref[i]!.stderr)}\n    tix: ${where(tix[i]!.stderr)}`);
    });
    const failing = ref.filter((r) => r.status !== 0).length;
    console.log(`parse corpus: ${cases.length} expressions, ${cases.length - bad.length} agree; ${failing - badErr.length}/${failing} error messages identical`);
    assert.deepEqual(unexpected.map(showMismatch), [], 'unexpected divergences');
    assert.deepEqual(badErr, [], 'error messages differ');
  } finally {
    root.cleanup();
  }
});

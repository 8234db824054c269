/**
 * Differential corpus: every expression in `eval-corpus/*.nix.txt` is
 * evaluated with the reference `nix-instantiate --eval --strict -E` and with
 * tix; stdout and success/failure must agree. Divergences we know about are
 * listed in `eval-corpus/known-divergences.txt`; a listed case that starts
 * agreeing is reported (not failed: other layers fix them independently).
 *
 * The same run also compares the whole stderr (messages, positions, excerpts,
 * trace hints, warnings), the root directory normalised; cases where it is
 * known to differ are in `eval-corpus/known-stderr-divergences.txt`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haveReference, makeRoot } from '../harness/index.js';
import {
  compare, compareStderr, retryReference, corpusEnv, knownList, loadCorpus, makeFixtures, runReference, runTixBatch, showMismatch,
  showStderrMismatch,
} from './eval-corpus-lib.js';

test('eval corpus: tix agrees with nix-instantiate --eval --strict', { skip: !haveReference() && 'reference Nix not installed', timeout: 600_000 }, async (t) => {
  const cases = loadCorpus();
  assert.ok(cases.length >= 600, `corpus has ${cases.length} expressions`);
  const root = makeRoot();
  try {
    const work = makeFixtures(root);
    const env = corpusEnv(root, work);
    const [ref, tix] = await Promise.all([runReference(cases, env, work), runTixBatch(cases, env, work, root)]);
    await retryReference(cases, ref, tix, env, work, undefined, root.dir);
    await t.test('whole stderr agrees', () => {
      const bad = compareStderr(cases, ref, tix, root.dir);
      const known = knownList('known-stderr-divergences.txt');
      const unexpected = bad.filter((m) => !known.has(m.id));
      const badIds = new Set(bad.map((m) => m.id));
      const fixed = [...known].filter((id) => !badIds.has(id) && cases.some((c) => c.id === id));
      const unknownIds = [...known].filter((id) => !cases.some((c) => c.id === id));
      console.log(`eval corpus stderr: ${cases.length - bad.length} of ${cases.length} identical, ${bad.length} differ (${bad.length - unexpected.length} known)`);
      assert.deepEqual(unknownIds, [], 'known-stderr-divergences.txt lists ids not in the corpus');
      if (fixed.length > 0) console.log(`known stderr divergences that now agree (remove from known-stderr-divergences.txt): ${fixed.join(' ')}`);
      assert.deepEqual(unexpected.map(showStderrMismatch), [], 'stderr differs');
    });
    const bad = compare(cases, ref, tix);
    const known = knownList('known-divergences.txt');
    const unexpected = bad.filter((m) => !known.has(m.id));
    const badIds = new Set(bad.map((m) => m.id));
    const fixed = [...known].filter((id) => !badIds.has(id) && cases.some((c) => c.id === id));
    const failing = ref.filter((r) => r.status !== 0).length;
    console.log(`eval corpus: ${cases.length} expressions (${failing} error cases), ${cases.length - bad.length} agree, ${bad.length} differ (${bad.length - unexpected.length} known)`);
    if (fixed.length > 0) console.log(`known divergences that now agree (remove from known-divergences.txt): ${fixed.join(' ')}`);
    assert.deepEqual(unexpected.map(showMismatch), [], 'unexpected divergences');
  } finally {
    root.cleanup();
  }
});

test('eval corpus (attrs, lists, json files): --xml --no-location output agrees', { skip: !haveReference() && 'reference Nix not installed', timeout: 600_000 }, async () => {
  const cases = loadCorpus().filter((c) => /^(attrs|lists|lists-generated|json):/.test(c.id));
  const root = makeRoot();
  try {
    const work = makeFixtures(root);
    const env = corpusEnv(root, work);
    const args = ['--eval', '--strict', '--xml', '--no-location'];
    const [ref, tix] = await Promise.all([runReference(cases, env, work, args), runTixBatch(cases, env, work, root, { output: 'xml', location: false })]);
    await retryReference(cases, ref, tix, env, work, args);
    const bad = compare(cases, ref, tix);
    console.log(`eval corpus --xml: ${cases.length} expressions, ${cases.length - bad.length} agree`);
    assert.deepEqual(bad.map(showMismatch), []);
  } finally {
    root.cleanup();
  }
});

test('eval corpus (attrs, lists, json files): --json output agrees', { skip: !haveReference() && 'reference Nix not installed', timeout: 600_000 }, async () => {
  const cases = loadCorpus().filter((c) => /^(attrs|lists|lists-generated|json):/.test(c.id));
  const root = makeRoot();
  try {
    const work = makeFixtures(root);
    const env = corpusEnv(root, work);
    const args = ['--eval', '--strict', '--json'];
    const [ref, tix] = await Promise.all([runReference(cases, env, work, args), runTixBatch(cases, env, work, root, { output: 'json' })]);
    await retryReference(cases, ref, tix, env, work, args);
    const bad = compare(cases, ref, tix);
    console.log(`eval corpus --json: ${cases.length} expressions, ${cases.length - bad.length} agree`);
    assert.deepEqual(bad.map(showMismatch), []);
  } finally {
    root.cleanup();
  }
});

test('eval corpus (error-places file): whole stderr with --show-trace agrees', { skip: !haveReference() && 'reference Nix not installed', timeout: 600_000 }, async () => {
  const cases = loadCorpus().filter((c) => /^error-places:/.test(c.id));
  assert.ok(cases.length >= 100, `error-places has ${cases.length} expressions`);
  const root = makeRoot();
  try {
    const work = makeFixtures(root);
    const env = corpusEnv(root, work);
    const args = ['--eval', '--strict', '--show-trace'];
    const [ref, tix] = await Promise.all([runReference(cases, env, work, args), runTixBatch(cases, env, work, root, { showTrace: true })]);
    await retryReference(cases, ref, tix, env, work, args, root.dir);
    const bad = [...compare(cases, ref, tix).map(showMismatch), ...compareStderr(cases, ref, tix, root.dir).map(showStderrMismatch)];
    console.log(`eval corpus --show-trace (error-places): ${cases.length} expressions, ${bad.length} differ`);
    assert.deepEqual(bad, []);
  } finally {
    root.cleanup();
  }
});

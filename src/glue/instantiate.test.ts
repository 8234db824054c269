/** The main-thread attempt and its fallbacks (instantiate.ts / eval-job.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings } from '../core/index.js';
import { DeferredBridge } from './deferred-store.js';
import { baseJob, emptyEvalArgs } from './eval-args.js';
import { runEvalJob } from './eval-job.js';
import { runEvalJobInWorker, threadStackKb } from './instantiate.js';

test('threadStackKb reads --stack-size from the node flags', () => {
  const cases: Array<[string[], number]> = [
    [[], 984],
    [['--stack-size=63000'], 63000],
    [['--stack_size=7000', '--max-semi-space-size=32'], 7000],
    [['--stack-size=100', '--stack-size=200'], 200],
    [['--stack-sizes=5'], 984],
  ];
  for (const [argv, want] of cases) assert.equal(threadStackKb(argv), want, argv.join(' '));
});

function deepJob(n: number) {
  const env = { NIX_PATH: '' };
  const job = baseJob({ settings: loadSettings(env), env, storeDir: '/nix/store', cwd: '/' }, emptyEvalArgs());
  job.strict = true;
  job.inputs = [{ kind: 'expr', text: `let f = n: if n == 0 then 0 else 1 + f (n - 1); in f ${n}` }];
  return job;
}

test('a stack overflow on the first thread asks for the worker, unless told its stack is big enough', () => {
  const job = deepJob(1_000_000);
  const retry = runEvalJob(job, new DeferredBridge(), true);
  assert.equal(retry.needWorker, true);
  const final = runEvalJob(job, new DeferredBridge(), 'store');
  assert.equal(final.needWorker, undefined);
  assert.equal(final.status, 1);
  assert.equal(final.stderr, 'error: stack overflow (possible infinite recursion)\n');
});

test('deep recursion still succeeds through the worker fallback', async () => {
  const res = await runEvalJobInWorker(deepJob(20_000));
  assert.equal(res.status, 0, res.stderr);
  assert.equal(Buffer.from(res.stdout).toString(), '20000\n');
});

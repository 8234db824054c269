/**
 * Acceptance points of issue 4 for the evaluator core: non-tail recursion at
 * least as deep as Nix 2.8's (~72k levels, on a worker thread with a large
 * stack, as the CLI runs it) and `foldl'` over a million elements.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { EvalState } from './state.js';
import { MemoryIO } from './io.js';
import { printValue } from './print.js';

function evalInWorker(expr: string, stackSizeMb: number): Promise<string> {
  const stateUrl = new URL('./state.js', import.meta.url).href;
  const ioUrl = new URL('./io.js', import.meta.url).href;
  const printUrl = new URL('./print.js', import.meta.url).href;
  const errUrl = new URL('./errors.js', import.meta.url).href;
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { EvalState } = await import(${JSON.stringify(stateUrl)});
      const { MemoryIO } = await import(${JSON.stringify(ioUrl)});
      const { printValue } = await import(${JSON.stringify(printUrl)});
      const { toEvalError } = await import(${JSON.stringify(errUrl)});
      try {
        const st = new EvalState({ io: new MemoryIO(new Map()) });
        parentPort.postMessage(printValue(st.evalString(workerData, '/')));
      } catch (e) {
        parentPort.postMessage('error: ' + toEvalError(e).message);
      }
    })();`;
  return new Promise((resolve, reject) => {
    const w = new Worker(src, { eval: true, workerData: expr, resourceLimits: { stackSizeMb } });
    w.once('message', (m) => { resolve(String(m)); void w.terminate(); });
    w.once('error', reject);
  });
}

test('non-tail recursion 72k deep on a 64 MB worker stack', async () => {
  const r = await evalInWorker('let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 72000', 64);
  assert.equal(r, '72000');
});

test('runaway recursion is a Nix stack overflow error, not a crash', async () => {
  const r = await evalInWorker('let f = n: 1 + f (n + 1); in f 0', 16);
  assert.equal(r, 'error: stack overflow (possible infinite recursion)');
});

test("foldl' over 1M elements (no recursion in the builtin)", () => {
  const st = new EvalState({ io: new MemoryIO(new Map()) });
  const v = st.evalString("builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x * 2) 1000000)", '/');
  assert.equal(printValue(v), '999999000000');
});

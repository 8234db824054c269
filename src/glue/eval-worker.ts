/**
 * Evaluator thread entry (see instantiate.ts): runs one `EvalJob` with a
 * large stack (Nix 2.8 recurses ~72k levels deep) and forwards store calls
 * to the main thread synchronously (post + `Atomics.wait` +
 * `receiveMessageOnPort`), because `EvalIO` is synchronous and the `Store`
 * is not.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ioError } from '../eval/index.js';
import { runEvalJob, type EvalJob } from './eval-job.js';
import type { StoreBridge } from './store-io.js';

interface WorkerInput {
  /** One job, or a batch (tests, fuzzing): each gets a fresh EvalState. */
  jobs: EvalJob[];
  port: MessagePort;
  flag: SharedArrayBuffer;
}

function makeBridge(port: MessagePort, flagBuf: SharedArrayBuffer): StoreBridge {
  const flag = new Int32Array(flagBuf);
  const call = (op: string, args: unknown[]): unknown => {
    Atomics.store(flag, 0, 0);
    port.postMessage({ op, args });
    Atomics.wait(flag, 0, 0);
    const m = receiveMessageOnPort(port);
    if (m === undefined) throw new Error('Assertion failed: no reply from the store thread');
    const reply = m.message as { result?: unknown; error?: string; status?: number };
    if (reply.error !== undefined) {
      const e = ioError(reply.error);
      if (reply.status !== undefined) Object.assign(e, { exitCode: reply.status });
      throw e;
    }
    return reply.result;
  };
  return {
    addTextToStore: (name, text, refs) => call('addTextToStore', [name, text, refs]) as string,
    addToStore: (name, method, data) => call('addToStore', [name, method, data]) as string,
    isValidPath: (path) => call('isValidPath', [path]) as boolean,
    realise: (ctx) => void call('realise', [ctx]),
    addPermRoot: (path, link) => call('addPermRoot', [path, link]) as string,
  };
}

const input = workerData as WorkerInput;
const bridge = makeBridge(input.port, input.flag);
parentPort!.postMessage(input.jobs.map((j) => runEvalJob(j, bridge)));

/**
 * The evaluation API used by the CLI (`nix-instantiate`, `nix eval`,
 * `nix-build`, `nix build`): runs an `EvalJob` on a worker thread with a
 * 64 MiB stack (~400k Nix call levels; 2.8 manages ~72k) and serves its store requests from the main thread's
 * `Store` (opened lazily: a pure `--eval` never opens the store).
 */
import { Worker, MessageChannel } from 'node:worker_threads';
import * as fs from 'node:fs';
import type { Store, DerivedPath, TextToAdd } from '../store/index.js';
import { StoreDir } from '../formats/index.js';
import { isNixError } from '../core/index.js';
import { runEvalJob, type EvalJob, type EvalOutput } from './eval-job.js';
import { DeferredBridge, type WriteOp } from './deferred-store.js';

export type { EvalJob, EvalOutput, EvalInput } from './eval-job.js';
export { runEvalJob };

export interface RunOptions {
  /** Opens the store on first use; it is closed when the evaluation is done. */
  openStore?: () => Promise<Store>;
  /** A store the caller keeps open and closes itself (used instead of `openStore`). */
  store?: Store;
  /** Stack for the evaluator thread (MiB). */
  stackSizeMb?: number;
  /** Always use the worker thread (long-running processes must not block their event loop). */
  workerOnly?: boolean;
}

async function* once(data: Uint8Array): AsyncIterable<Uint8Array> {
  yield data;
}

async function handle(store: Store, op: string, args: unknown[]): Promise<unknown> {
  const sd = store.storeDir;
  switch (op) {
    case 'addTextToStore': {
      const [name, text, refs] = args as [string, Uint8Array, string[]];
      return sd.print(await store.addTextToStore(name, text, refs.map((r) => sd.parse(r))));
    }
    case 'addToStore': {
      const [name, method, data] = args as [string, 'recursive' | 'flat', Uint8Array];
      const info = await store.addToStore({ name, method, hashAlgo: 'sha256', source: once(data) });
      return sd.print(info.path);
    }
    case 'isValidPath':
      return store.isValidPath(sd.parse(args[0] as string));
    case 'realise': {
      const ctx = args[0] as string[];
      const paths: DerivedPath[] = ctx.map((c) => {
        if (c.startsWith('!')) {
          const bang = c.indexOf('!', 1);
          return { kind: 'built', drvPath: sd.parse(c.slice(bang + 1)), outputs: [c.slice(1, bang)] };
        }
        if (c.startsWith('=')) return { kind: 'built', drvPath: sd.parse(c.slice(1)), outputs: 'all' };
        return { kind: 'opaque', path: sd.parse(c) };
      });
      if (!store.buildPaths) throw new Error(`cannot build '${ctx[0]}': this store cannot build`);
      await store.buildPaths(paths);
      return null;
    }
    case 'addPermRoot': {
      const [path, link] = args as [string, string];
      try {
        fs.unlinkSync(link);
      } catch {
        /* not there yet */
      }
      fs.symlinkSync(path, link);
      await store.addIndirectRoot(link);
      return link;
    }
    default:
      throw new Error(`Assertion failed: unknown store op ${op}`);
  }
}

/**
 * Perform an evaluation's recorded writes, in order. Runs of text writes
 * (`toFile`, `.drv` files) go to the store as one batch when it takes
 * batches: the same paths with the same guarantees, fewer transactions
 * (store/local/add-texts.ts). All of them are done before the evaluation's
 * result is returned, as with one call each.
 */
async function performDeferred(store: Store, ops: readonly WriteOp[]): Promise<void> {
  const sd = store.storeDir;
  for (let i = 0; i < ops.length;) {
    const w = ops[i]!;
    if (w.op !== 'addTextToStore' || store.addTextsToStore === undefined) {
      await handle(store, w.op, w.args);
      i++;
      continue;
    }
    const items: TextToAdd[] = [];
    for (; i < ops.length && ops[i]!.op === 'addTextToStore'; i++) {
      const [name, text, refs] = ops[i]!.args as [string, Uint8Array, string[]];
      items.push({ name, text, references: refs.map((r) => sd.parse(r)) });
    }
    await store.addTextsToStore(items);
  }
}

/** Stack of the worker thread (MiB) unless `RunOptions.stackSizeMb` says otherwise. */
const WORKER_STACK_MB = 64;

/**
 * This thread's JS stack (KiB): Node's default unless the process was
 * started with `--stack-size=N` (V8 reads it only at start-up).
 */
export function threadStackKb(execArgv: readonly string[] = process.execArgv): number {
  let kb = 984;
  for (const a of execArgv) {
    const m = /^--stack[-_]size=(\d+)$/.exec(a);
    if (m) kb = Number(m[1]);
  }
  return kb;
}

/**
 * Evaluate a job: first on this thread with store writes deferred (no
 * worker start-up), falling back to the worker thread when that attempt
 * needs more stack or live store access. Resolves with the rendered output.
 */
export async function runEvalJobInWorker(job: EvalJob, opts: RunOptions = {}): Promise<EvalOutput> {
  if (!opts.workerOnly) {
    const deferred = new DeferredBridge();
    // A process started with a stack as big as the worker's gains nothing
    // from re-running a stack overflow there.
    const bigStack = threadStackKb() >= 0.9 * 1024 * (opts.stackSizeMb ?? WORKER_STACK_MB);
    const res = runEvalJob(job, deferred, bigStack ? 'store' : true);
    if (!res.needWorker) {
      if (deferred.ops.length > 0) {
        if (!opts.store && !opts.openStore) throw new Error('Assertion failed: store writes without a store');
        const store = opts.store ?? (await opts.openStore!());
        try {
          await performDeferred(store, deferred.ops);
        } finally {
          if (!opts.store) await store.close?.();
        }
      }
      return res;
    }
  }
  return (await runEvalJobsInWorker([job], opts))[0]!;
}

/** Evaluate several independent jobs on one worker thread (fresh EvalState each). */
export async function runEvalJobsInWorker(jobs: EvalJob[], opts: RunOptions = {}): Promise<EvalOutput[]> {
  const { port1, port2 } = new MessageChannel();
  const flagBuf = new SharedArrayBuffer(4);
  const flag = new Int32Array(flagBuf);
  let storeP: Promise<Store> | undefined;
  const getStore = () => {
    if (opts.store) return Promise.resolve(opts.store);
    if (!opts.openStore) return Promise.reject(new Error('no store is available'));
    return (storeP ??= opts.openStore());
  };
  port1.on('message', (m: { op: string; args: unknown[] }) => {
    void (async () => {
      let reply: { result?: unknown; error?: string; status?: number };
      try {
        reply = { result: await handle(await getStore(), m.op, m.args) };
      } catch (e) {
        // The status goes with the message: a failed build ends the evaluation with 2.8's 100–104.
        reply = { error: (e as Error).message ?? String(e), status: isNixError(e) ? e.exitCode : undefined };
      }
      port1.postMessage(reply);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    })();
  });
  const worker = new Worker(new URL('./eval-worker.js', import.meta.url), {
    workerData: { jobs, port: port2, flag: flagBuf },
    transferList: [port2],
    resourceLimits: { stackSizeMb: opts.stackSizeMb ?? WORKER_STACK_MB },
    stdout: false,
    stderr: false,
  });
  try {
    return await new Promise<EvalOutput[]>((resolve, reject) => {
      worker.once('message', (r: EvalOutput[]) => resolve(r));
      worker.once('error', (e) => {
        const msg = /call stack|stack size/i.test(String(e)) ? 'stack overflow (possible infinite recursion)' : `internal error: ${(e as Error).message}`;
        resolve(jobs.map(() => ({ stdout: new Uint8Array(), stderr: `error: ${msg}\n`, status: 1 })));
      });
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`evaluator thread exited with ${code}`));
      });
    });
  } finally {
    port1.close();
    await worker.terminate();
    if (storeP) {
      const s = await storeP.catch(() => undefined);
      await s?.close?.();
    }
  }
}

export { StoreDir };

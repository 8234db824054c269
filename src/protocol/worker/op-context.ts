/**
 * What a store shared by many connections may learn about the request it is
 * serving (2.8 has one daemon process per client, so its build code simply
 * uses that process's logger, settings and interrupt flag): the client's
 * stderr channel, its SetOptions, and a signal aborted when it hangs up (2.8's
 * daemon polls the socket for HUP and interrupts the running operation).
 *
 * Cost: AsyncLocalStorage makes every promise in the process pay an async
 * hook while it is enabled, a large share of a QueryPathInfo round trip. So
 * only the operations that build or run long get a context, and the storage
 * is disabled again whenever none of them is running.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger, Settings } from '../../core/index.js';
import { Op } from './ops.js';

export interface OpContext {
  /** The stderr channel of the client that sent the request. */
  logger: Logger;
  /** The daemon's settings with the client's SetOptions applied (trust-filtered). */
  settings(): Settings | undefined;
  /** Aborted when the client hangs up while the operation runs: a build must stop. */
  readonly signal: AbortSignal;
}

/** Operations whose store calls may build, log to the client, or run long. */
const CONTEXT_OPS = new Set<number>([
  Op.BuildPaths, Op.BuildPathsWithResults, Op.BuildDerivation, Op.EnsurePath, Op.QueryMissing,
  Op.VerifyStore, Op.CollectGarbage, Op.OptimiseStore,
]);

const storage = new AsyncLocalStorage<OpContext>();
let running = 0;

/** The context of the daemon operation running in the current async context, if it has one. */
export function currentOpContext(): OpContext | undefined {
  return running > 0 ? storage.getStore() : undefined;
}

/** Its stderr-channel logger (see `withBuildOps({ logger: () => … })`). */
export function currentOpLogger(): Logger | undefined {
  return currentOpContext()?.logger;
}

/** Run handler `fn` of operation `op`, with a context when the operation needs one. */
export async function runWithContext<T>(op: number, make: () => OpContext, fn: () => Promise<T>): Promise<T> {
  if (!CONTEXT_OPS.has(op)) return fn();
  running++;
  try {
    return await storage.run(make(), fn);
  } finally {
    // Leftover continuations of a finished operation see no context: that is fine.
    if (--running === 0) storage.disable();
  }
}

/**
 * Notices a client going away: its input ends (the reader keeps reading while
 * an operation runs, unless over its high-water mark) or its output closes.
 * The running operation's signal is made on first use.
 */
export class HangupWatch {
  private gone = false;
  private ac: AbortController | undefined;
  private readonly events: [NodeJS.EventEmitter, string][];
  private readonly onGone = (): void => {
    this.gone = true;
    this.ac?.abort();
  };

  constructor(input: NodeJS.EventEmitter, output: NodeJS.EventEmitter) {
    this.events = [[input, 'end'], [input, 'close'], [output, 'close'], [output, 'error']];
    for (const [e, n] of this.events) e.on(n, this.onGone);
  }

  /** The current operation's signal. */
  signal(): AbortSignal {
    if (this.ac === undefined) {
      this.ac = new AbortController();
      if (this.gone) this.ac.abort();
    }
    return this.ac.signal;
  }

  /** The operation ended: the next one gets a fresh signal. */
  opDone(): void {
    this.ac = undefined;
  }

  stop(): void {
    for (const [e, n] of this.events) e.removeListener(n, this.onGone);
  }
}

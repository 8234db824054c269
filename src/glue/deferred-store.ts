/**
 * Evaluation on the CLI's main thread (no worker start-up, no second module
 * load): store writes are *recorded* while evaluating — every path is
 * computed synchronously anyway — and performed afterwards, in order,
 * through the async `Store`. Anything that needs the store *during*
 * evaluation (reading back an object written in this evaluation, validity
 * checks, import-from-derivation) or more stack than the main thread has
 * raises `NeedWorker`, and the job is re-run on a worker thread with the
 * synchronous bridge (instantiate.ts).
 */
import type { StoreBridge } from './store-io.js';

/** Thrown to abandon a main-thread evaluation in favour of the worker. */
export class NeedWorker extends Error {
  constructor(why: string) {
    super(`needs the evaluator thread: ${why}`);
  }
}

export type WriteOp =
  | { op: 'addTextToStore'; args: [string, Uint8Array, string[]] }
  | { op: 'addToStore'; args: [string, 'recursive' | 'flat', Uint8Array] }
  | { op: 'addPermRoot'; args: [string, string] };

export class DeferredBridge implements StoreBridge {
  readonly ops: WriteOp[] = [];
  /** Store paths (full) written by this evaluation, not yet on disk. */
  readonly pending = new Set<string>();
  readonly deferred = true;

  addTextToStore(name: string, text: Uint8Array, references: string[]): string {
    this.ops.push({ op: 'addTextToStore', args: [name, text, references] });
    return '';
  }
  addToStore(name: string, method: 'recursive' | 'flat', data: Uint8Array): string {
    this.ops.push({ op: 'addToStore', args: [name, method, data] });
    return '';
  }
  isValidPath(path: string): boolean {
    throw new NeedWorker(`validity of '${path}'`);
  }
  realise(context: string[]): void {
    throw new NeedWorker(`building '${context[0]}'`);
  }
  addPermRoot(path: string, link: string): string {
    this.ops.push({ op: 'addPermRoot', args: [path, link] });
    return link;
  }
}

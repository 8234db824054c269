/**
 * Local build slots (Nix `max-jobs`, Worker `getNrLocalBuilds`). A slot is held
 * while a builder runs. A build that waits on inner builds it requested
 * through recursive Nix lends its slot (`lend()`), so inner builds on the same
 * scheduler cannot deadlock on `max-jobs = 1`.
 */
import { NixError } from '../core/index.js';
import { BuildErrorCode } from './errors.js';

export class JobSlots {
  private used = 0;
  private lent = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly max: number) {}

  private capacity(): number {
    return this.max + this.lent;
  }

  /** Wait for a free slot; rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.used < this.capacity()) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.used++;
        resolve();
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(grant);
    });
  }

  release(): void {
    this.used--;
    this.wake();
  }

  /** Lend one extra slot until the returned function is called. */
  lend(): () => void {
    this.lent++;
    this.wake();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.lent--;
    };
  }

  private wake(): void {
    while (this.used < this.capacity() && this.queue.length > 0) this.queue.shift()!();
  }
}

export function cancelled(): NixError {
  return new NixError(BuildErrorCode.E_CANCELLED, 'build cancelled');
}

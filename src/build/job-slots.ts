/**
 * Local build slots (Nix `max-jobs`, Worker `getNrLocalBuilds`). A slot is held
 * while a builder runs. A build that waits on inner builds it requested
 * through recursive Nix lends its slot (`lend()`), so inner builds on the same
 * scheduler cannot deadlock on `max-jobs = 1`. Waiters are served in 2.8's
 * goal order (see `acquire`).
 */
import { NixError, compareUtf8 } from '../core/index.js';
import { BuildErrorCode } from './errors.js';

interface Waiter {
  key: string;
  grant(): void;
}

export class JobSlots {
  private used = 0;
  private lent = 0;
  private readonly waiting: Waiter[] = [];
  private scheduled = false;

  constructor(readonly max: number) {}

  private capacity(): number {
    return this.max + this.lent;
  }

  /**
   * Wait for a free slot; rejects when `signal` aborts first. Slots are handed
   * out in a later turn, to the waiter with the smallest `key`: 2.8 wakes every
   * goal that wants to build and runs them in goal-key order (by derivation
   * name, then path), so among goals ready at the same time the first by name
   * builds first.
   */
  acquire(signal?: AbortSignal, key = ''): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        key,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.used++;
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.schedule();
    });
  }

  release(): void {
    this.used--;
    this.schedule();
  }

  /** Lend one extra slot until the returned function is called. */
  lend(): () => void {
    this.lent++;
    this.schedule();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.lent--;
    };
  }

  /** Grant free slots once the goals woken in this turn have asked for one. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.wake();
    });
  }

  private wake(): void {
    while (this.used < this.capacity() && this.waiting.length > 0) {
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) if (compareUtf8(this.waiting[i]!.key, this.waiting[best]!.key) < 0) best = i;
      this.waiting.splice(best, 1)[0]!.grant();
    }
  }
}

export function cancelled(): NixError {
  return new NixError(BuildErrorCode.E_CANCELLED, 'build cancelled');
}

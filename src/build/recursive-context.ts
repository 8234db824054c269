/**
 * Inner builds requested by a running build through recursive Nix run on the
 * SAME worker (goals, output locks, job slots), unlike Nix 2.8 which starts an
 * independent Worker per connection. The requesting build holds a job slot
 * while it waits, so it lends that slot for as long as any of its inner
 * requests is pending: with `max-jobs = 1` the inner build then still runs.
 */
import type { Worker } from './worker.js';

/** A per-build lender: one slot is lent while at least one request is pending. */
export function slotLender(worker: Worker): <T>(f: () => Promise<T>) => Promise<T> {
  let pending = 0;
  let giveBack: (() => void) | undefined;
  return async (f) => {
    if (pending++ === 0) giveBack = worker.slots.lend();
    try {
      return await f();
    } finally {
      if (--pending === 0) {
        giveBack?.();
        giveBack = undefined;
      }
    }
  };
}

/**
 * The recursive builds running in this process, and what each is waiting for
 * (beyond upstream, issue 8 §6.5). Inner builds share the outer scheduler, so a
 * cycle in "waits for" is a deadlock: build A asks for B while B (or something
 * B waits for) is waiting for A. Nix 2.8 hangs there (#4216, #7297); tix checks
 * each inner request against this graph and fails it at once.
 *
 * Depth: a recursive build started while another one waits for its derivation
 * is one level deeper than that one.
 */

export interface RegistryEntry {
  readonly drv: string;
  readonly depth: number;
  /** drv base name → number of in-flight requests that may build it. */
  readonly waitingFor: Map<string, number>;
}

export class RecursiveRegistry {
  private readonly active = new Map<string, RegistryEntry>();

  /** A recursive build of `drv` (base name) starts. */
  register(drv: string): RegistryEntry {
    let depth = 1;
    for (const e of this.active.values()) if (e.waitingFor.has(drv)) depth = Math.max(depth, e.depth + 1);
    const entry: RegistryEntry = { drv, depth, waitingFor: new Map() };
    this.active.set(drv, entry);
    return entry;
  }

  unregister(entry: RegistryEntry): void {
    if (this.active.get(entry.drv) === entry) this.active.delete(entry.drv);
  }

  /** Would `requester` waiting for `drv` close a cycle? */
  wouldDeadlock(requester: RegistryEntry, drv: string): boolean {
    if (drv === requester.drv) return true;
    const seen = new Set<string>();
    const stack = [drv];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      const e = this.active.get(d);
      if (e === undefined) continue;
      for (const w of e.waitingFor.keys()) {
        if (w === requester.drv) return true;
        stack.push(w);
      }
    }
    return false;
  }

  /** Record that `requester` waits for `drvs`; call the result when the request ends. */
  beginWait(requester: RegistryEntry, drvs: Iterable<string>): () => void {
    const list = [...drvs];
    for (const d of list) requester.waitingFor.set(d, (requester.waitingFor.get(d) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const d of list) {
        const n = (requester.waitingFor.get(d) ?? 1) - 1;
        if (n <= 0) requester.waitingFor.delete(d);
        else requester.waitingFor.set(d, n);
      }
    };
  }
}

/** The process-wide registry (all builds of one tix process share one scheduler). */
export const globalRecursiveRegistry = new RecursiveRegistry();

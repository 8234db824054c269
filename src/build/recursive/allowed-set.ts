/**
 * The allowed set of a recursive build (Nix 2.8 `LocalDerivationGoal::isAllowed`,
 * `addedPaths`, `addDependency`): the input closure, plus every path added or
 * built through the build's socket.
 *
 * Beyond upstream (spec §3.2, §9 item 3): a path becomes allowed only after it
 * has been materialised in the sandbox. Concurrent requests for the same path
 * share one materialisation (one promise per path); a failed materialisation
 * leaves the path unallowed, so a builder that pre-creates a path in its view
 * cannot get it allowed by asking twice (the 2.8 forge case).
 */
import { NixError } from '../../core/index.js';
import type { StorePath } from '../../formats/index.js';
import { RecursiveErrorCode } from './errors.js';
import { msg } from './messages.js';

/** Makes a path visible to the running builder (sandbox `addPath`); absent when unsandboxed. */
export type Materialiser = (path: StorePath) => Promise<void>;

export class AllowedSet {
  private readonly inputs = new Map<string, StorePath>();
  private readonly added = new Map<string, StorePath>();
  private readonly pending = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    inputClosure: Iterable<StorePath>,
    private readonly materialise?: Materialiser,
  ) {
    for (const p of inputClosure) this.inputs.set(p.baseName, p);
  }

  isAllowed(path: StorePath): boolean {
    return this.inputs.has(path.baseName) || this.added.has(path.baseName);
  }

  isInput(path: StorePath): boolean {
    return this.inputs.has(path.baseName);
  }

  /** Inputs and completed additions (what `queryAllValidPaths` may show). */
  all(): StorePath[] {
    return [...this.inputs.values(), ...this.added.values()];
  }

  /** Paths added during the build (for output scanning and temp roots). */
  addedPaths(): StorePath[] {
    return [...this.added.values()];
  }

  /**
   * Allow `path`, materialising it first. Resolves once the path is visible to
   * the builder; rejects (leaving it unallowed) when that fails.
   */
  allow(path: StorePath): Promise<void> {
    if (this.isAllowed(path)) return Promise.resolve();
    if (this.closed) return Promise.reject(new NixError(RecursiveErrorCode.E_BUILD_FINISHED, msg.buildFinished()));
    const key = path.baseName;
    let p = this.pending.get(key);
    if (p === undefined) {
      p = this.materialiseOnce(path).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async materialiseOnce(path: StorePath): Promise<void> {
    if (this.materialise !== undefined) await this.materialise(path);
    if (this.closed) throw new NixError(RecursiveErrorCode.E_BUILD_FINISHED, msg.buildFinished());
    this.added.set(path.baseName, path);
  }

  /** Allow several paths; all are attempted, the first failure is rethrown. */
  async allowAll(paths: Iterable<StorePath>): Promise<void> {
    const results = await Promise.allSettled([...paths].map((p) => this.allow(p)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** End of build: no further additions; waits for in-flight materialisations to settle. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending.values()]);
  }
}

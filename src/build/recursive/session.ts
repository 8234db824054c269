/**
 * One build's recursive-nix state (Nix 2.8 `LocalDerivationGoal::startDaemon`
 * minus the socket, which lives in `glue/recursive/` because `build/` cannot
 * import the protocol): the allowed set, the policy, the call record and the
 * `RestrictedStore` the socket serves. The builder asks it for the paths to
 * scan outputs against when the build ends.
 */
import type { Settings } from '../../core/index.js';
import type { StoreDir, StorePath } from '../../formats/index.js';
import type { Store } from '../../store/index.js';
import { AllowedSet, type Materialiser } from './allowed-set.js';
import { RecursiveCallLog, recursiveLogFile } from './call-log.js';
import { requireRecursiveNix } from './gating.js';
import { RecursivePolicy, policySettings, type DerivationReader } from './policy.js';
import { globalRecursiveRegistry, type RecursiveRegistry, type RegistryEntry } from './registry.js';
import { RestrictedStore, type InnerBuilder } from './restricted-store.js';

export interface RecursiveSessionOptions {
  /** The host store running the outer build (with build ops, or give `builder`). */
  next: Store;
  settings: Settings;
  drvPath: StorePath;
  /** The outer derivation's `system` and `requiredSystemFeatures`. */
  system: string;
  requiredSystemFeatures: readonly string[];
  /** Input closure of the outer build (what its sandbox shows). */
  inputClosure: Iterable<StorePath>;
  readDerivation: DerivationReader;
  /** In-process registry of running recursive builds (cycle/depth checks); default: the global one. */
  registry?: RecursiveRegistry;
  /** Sandbox injection; undefined when unsandboxed. */
  materialise?: Materialiser;
  builder?: InnerBuilder;
  /** Nix log dir: the call record goes to `<logDir>/recursive/<drv>.jsonl`. */
  logDir?: string;
  /** One line per recorded call into the outer build's log. */
  buildLog?: (line: string) => void;
  storeName?: string;
}

export class RecursiveSession {
  readonly allowed: AllowedSet;
  readonly policy: RecursivePolicy;
  readonly calls: RecursiveCallLog;
  readonly store: RestrictedStore;
  readonly storeDir: StoreDir;
  readonly depth: number;
  private readonly registry: RecursiveRegistry;
  private readonly entry: RegistryEntry;

  /** Throws Nix's experimental-feature error when `recursive-nix` is off. */
  constructor(opts: RecursiveSessionOptions) {
    requireRecursiveNix(opts.settings);
    this.storeDir = opts.next.storeDir;
    this.allowed = new AllowedSet(opts.inputClosure, opts.materialise);
    const { fixedOutput, maxDepth } = policySettings(opts.settings);
    this.registry = opts.registry ?? globalRecursiveRegistry;
    this.entry = this.registry.register(opts.drvPath.baseName);
    this.depth = this.entry.depth;
    this.policy = new RecursivePolicy({
      storeDir: this.storeDir,
      outerSystem: opts.system,
      outerFeatures: opts.requiredSystemFeatures,
      fixedOutput,
      maxDepth,
      depth: this.depth,
      wouldDeadlock: (drv) => this.registry.wouldDeadlock(this.entry, drv.baseName),
      readDerivation: opts.readDerivation,
      isValid: (p) => opts.next.isValidPath(p),
    });
    this.calls = new RecursiveCallLog({
      file: opts.logDir === undefined ? undefined : recursiveLogFile(opts.logDir, opts.drvPath.baseName),
      buildLog: opts.buildLog,
    });
    this.store = new RestrictedStore({
      next: opts.next, allowed: this.allowed, policy: this.policy, calls: this.calls, builder: opts.builder, storeName: opts.storeName,
      onWait: (drvs) => this.registry.beginWait(this.entry, drvs.map((d) => d.baseName)),
    });
  }

  /** Paths added during the build: scan outputs against inputs ∪ outputs ∪ these. */
  addedPaths(): StorePath[] {
    return this.allowed.addedPaths();
  }

  /** End of build: refuse further additions and let in-flight ones settle. */
  async close(): Promise<void> {
    this.registry.unregister(this.entry);
    await this.allowed.close();
  }
}

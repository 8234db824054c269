/**
 * What an inner build may ask for (beyond upstream, issue 8 §6.5–6.7; Nix 2.8
 * checks none of this and builds whatever `.drv` the builder names):
 * - cycles: an inner request for a derivation that an enclosing build is
 *   building, or that depends on one, fails fast instead of deadlocking
 *   (Nix issues #4216, #7297);
 * - depth: nesting deeper than `recursive-nix-max-depth` fails;
 * - system and features: every derivation the request may build must be for the
 *   outer `system` and require a subset of the outer build's features
 *   (`recursive-nix` itself implicitly allowed; Nix issue #3176);
 * - fixed outputs: `recursive-nix-fixed-output = allow | valid-only | deny`.
 *
 * The walk covers the derivations that would actually be built: a derivation
 * whose outputs are all valid already is not built, so its inputs are not
 * visited.
 */
import { NixError, type Settings } from '../../core/index.js';
import type { StoreDir, StorePath } from '../../formats/index.js';
import { RecursiveErrorCode } from './errors.js';
import { msg } from './messages.js';

export type FixedOutputPolicy = 'allow' | 'valid-only' | 'deny';

export const FIXED_OUTPUT_SETTING = 'recursive-nix-fixed-output';
export const MAX_DEPTH_SETTING = 'recursive-nix-max-depth';
export const DEFAULT_MAX_DEPTH = 8;

/** The parts of a derivation the policy looks at. */
export interface InnerDrvInfo {
  system: string;
  requiredSystemFeatures: string[];
  /** A fixed-output derivation (a single `out` with an `outputHash`). */
  fixedOutput: boolean;
  inputDrvs: StorePath[];
  /** Known output paths; undefined entries are floating content-addressed outputs. */
  outputPaths: (StorePath | undefined)[];
}

export type DerivationReader = (drvPath: StorePath) => Promise<InnerDrvInfo>;

export interface RecursivePolicyOptions {
  storeDir: StoreDir;
  outerSystem: string;
  /** The outer derivation's `requiredSystemFeatures`. */
  outerFeatures: readonly string[];
  fixedOutput: FixedOutputPolicy;
  maxDepth: number;
  /** Nesting level of this build (a top-level build is 1). */
  depth: number;
  /** Enclosing builds' drvs (a request for one of them is a cycle). */
  ancestors?: readonly StorePath[];
  /** Would waiting for this drv deadlock (the registry's cycle check)? */
  wouldDeadlock?: (drv: StorePath) => boolean;
  readDerivation: DerivationReader;
  /** Validity on the host store (not the restricted view). */
  isValid: (path: StorePath) => Promise<boolean>;
}

export function parseFixedOutputPolicy(v: string): FixedOutputPolicy {
  if (v === 'allow' || v === 'valid-only' || v === 'deny') return v;
  throw new NixError(
    RecursiveErrorCode.E_SETTING,
    `invalid value '${v}' for setting '${FIXED_OUTPUT_SETTING}' (expected 'allow', 'valid-only' or 'deny')`,
  );
}

/** The two knobs, read from settings with their defaults. */
export function policySettings(settings: Settings): { fixedOutput: FixedOutputPolicy; maxDepth: number } {
  const maxDepth = settings.getInt(MAX_DEPTH_SETTING, DEFAULT_MAX_DEPTH);
  if (maxDepth < 1) {
    throw new NixError(RecursiveErrorCode.E_SETTING, `setting '${MAX_DEPTH_SETTING}' must be at least 1, got ${maxDepth}`);
  }
  return { fixedOutput: parseFixedOutputPolicy(settings.getString(FIXED_OUTPUT_SETTING, 'valid-only')), maxDepth };
}

export class RecursivePolicy {
  private readonly ancestorNames: Set<string>;

  constructor(readonly opts: RecursivePolicyOptions) {
    this.ancestorNames = new Set((opts.ancestors ?? []).map((p) => p.baseName));
  }

  /** Depth of the builds an inner request would start. */
  get innerDepth(): number {
    return this.opts.depth + 1;
  }

  /** Whether inner fixed-output builds may use the network. */
  get fixedOutputNetwork(): boolean {
    return this.opts.fixedOutput === 'allow';
  }

  /**
   * Throws the first violation found for a request to build `drvPath`;
   * returns the derivations the request may build (for the registry).
   */
  async checkBuild(drvPath: StorePath): Promise<StorePath[]> {
    const pretty = this.opts.storeDir.print(drvPath);
    if (this.innerDepth > this.opts.maxDepth) {
      throw new NixError(RecursiveErrorCode.E_RECURSION_LIMIT, msg.depth(pretty, this.opts.maxDepth));
    }
    const seen = new Set<string>();
    const toBuild: StorePath[] = [];
    const queue: StorePath[] = [drvPath];
    while (queue.length > 0) {
      const drv = queue.pop()!;
      if (seen.has(drv.baseName)) continue;
      seen.add(drv.baseName);
      const inputs = await this.checkOne(drv, drv.equals(drvPath));
      if (inputs !== undefined) {
        toBuild.push(drv);
        queue.push(...inputs);
      }
    }
    return toBuild;
  }

  /**
   * Checks one derivation; returns the input derivations that also need
   * checking, or undefined when its outputs are valid (it will not be built).
   */
  private async checkOne(drv: StorePath, requested: boolean): Promise<StorePath[] | undefined> {
    const pretty = this.opts.storeDir.print(drv);
    if (this.ancestorNames.has(drv.baseName) || this.opts.wouldDeadlock?.(drv)) {
      throw new NixError(RecursiveErrorCode.E_RECURSION_LIMIT, msg.cycle(pretty));
    }
    const info = await this.opts.readDerivation(drv);
    if (info.fixedOutput && requested && this.opts.fixedOutput === 'deny') {
      throw new NixError(RecursiveErrorCode.E_FIXED_OUTPUT_REFUSED, msg.fixedOutputRefused(pretty, 'deny'));
    }
    if (await this.allOutputsValid(info)) return undefined;
    this.checkPlatform(pretty, info);
    if (info.fixedOutput && this.opts.fixedOutput !== 'allow') {
      throw new NixError(RecursiveErrorCode.E_FIXED_OUTPUT_REFUSED, msg.fixedOutputRefused(pretty, this.opts.fixedOutput));
    }
    return info.inputDrvs;
  }

  private checkPlatform(pretty: string, info: InnerDrvInfo): void {
    // `builtin` derivations (builtin:fetchurl) run in-process; they are governed by the FOD policy.
    if (info.system !== this.opts.outerSystem && !(info.system === 'builtin' && info.fixedOutput)) {
      throw new NixError(RecursiveErrorCode.E_SYSTEM_MISMATCH, msg.systemMismatch(pretty, info.system, this.opts.outerSystem));
    }
    const outer = new Set([...this.opts.outerFeatures, 'recursive-nix']);
    for (const f of info.requiredSystemFeatures) {
      if (!outer.has(f)) throw new NixError(RecursiveErrorCode.E_SYSTEM_MISMATCH, msg.featureMismatch(pretty, f));
    }
  }

  private async allOutputsValid(info: InnerDrvInfo): Promise<boolean> {
    if (info.outputPaths.length === 0) return false;
    for (const p of info.outputPaths) {
      if (p === undefined || !(await this.opts.isValid(p))) return false;
    }
    return true;
  }
}

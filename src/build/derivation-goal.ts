/**
 * One derivation's goal (Nix 2.8 `DerivationGoal` + `LocalDerivationGoal`):
 * skip when the wanted outputs are valid; realise inputs (drv outputs and
 * sources) first; then take a job slot and the output path locks (try-lock,
 * giving the slot back while another process holds them), re-check validity
 * (another process may just have built it), run the builder and register.
 *
 * Statuses follow Nix: a failing builder is a PermanentFailure (100), or a
 * TransientFailure (1) for fixed-output drvs; rejected outputs are
 * OutputRejected (1); timeouts TimedOut (101); hash mismatch sets the 102 bit;
 * `--check` differences are NotDeterministic (104).
 */
import { NixError, compareUtf8 } from '../core/index.js';
import type { StorePath } from '../formats/index.js';
import { BuildStatus, tryLockFile, type BuildMode, type FileLock } from '../store/index.js';
import { BuildErrorCode } from './errors.js';
import { getStringsAttr, isFixedOutput, type BuildDrv } from './derivation.js';
import { cancelled } from './job-slots.js';
import { runBuild } from './run-build.js';
import type { Worker } from './worker.js';

export interface GoalResult {
  status: number;
  error?: NixError;
  /** outputName → output path. */
  outputs: Map<string, StorePath>;
  /** The error has been shown already (the goal had waiters). */
  reported: boolean;
  cancelled?: boolean;
  hashMismatch?: boolean;
  startTime?: number;
  stopTime?: number;
  /** 1 once the builder ran (2.8 counts failed runs too). */
  timesBuilt?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function failure(status: number, error?: NixError, extra: Partial<GoalResult> = {}): GoalResult {
  return { status, error, outputs: new Map(), reported: false, ...extra };
}

export class DerivationGoal {
  private promise: Promise<GoalResult> | undefined;
  private waiters = 0;
  /** Outputs asked for by the first requester (for messages: `drv!out`). */
  wanted: string[] | 'all' = 'all';

  /** Progress accounting (2.8's MaintainCounts): a builder ran; the goal was counted as finished. */
  private ran = false;
  private counted = false;

  constructor(readonly worker: Worker, readonly drvPath: StorePath, readonly mode: BuildMode) {
    worker.progress.goalCreated();
  }

  /** A builder process is starting for this goal. */
  builderStarted(): void {
    this.ran = true;
    this.worker.progress.builderStarted();
  }

  /** Count the goal as finished, once (before its build activity stops, as in 2.8). */
  finish(r: GoalResult): void {
    if (this.counted) return;
    this.counted = true;
    const outcome = r.cancelled ? 'cancelled'
      : r.status === BuildStatus.Built ? 'built'
      : r.status === BuildStatus.AlreadyValid ? 'valid'
      : r.status === BuildStatus.DependencyFailed ? 'depFailed'
      : 'failed';
    this.worker.progress.goalDone(this.ran, outcome);
    // 2.8's amDone: a goal others wait for shows its error now (before its build activity stops).
    if (r.error !== undefined && !r.reported && this.waiters > 0) {
      r.reported = true;
      this.worker.logError(r.error);
    }
  }

  /** The running build, if one was started. */
  done(): Promise<GoalResult> | undefined {
    return this.promise;
  }

  get printed(): string {
    return this.worker.store.storeDir.print(this.drvPath);
  }

  async run(wanted: string[] | 'all', asDependency: boolean): Promise<GoalResult> {
    if (asDependency) this.waiters++;
    let drv: BuildDrv;
    try {
      drv = this.worker.loadDerivation(this.drvPath);
    } catch (e) {
      const r = failure(BuildStatus.MiscFailure, e as NixError);
      this.finish(r);
      return r;
    }
    if ((this.mode === 'normal' || this.mode === 'repair') && this.promise === undefined) {
      const valid = await this.validOutputs(drv, wanted);
      if (valid !== undefined) {
        if (this.mode === 'repair') {
          this.repairing ??= this.repairClosure(valid);
          const failed = await this.repairing;
          if (failed !== undefined) {
            this.finish(failed);
            return failed;
          }
        }
        const r = { status: BuildStatus.AlreadyValid, outputs: valid, reported: false };
        this.finish(r);
        return r;
      }
    }
    if (this.promise === undefined) {
      this.wanted = wanted;
      this.promise = this.execute(drv);
    }
    const r = await this.promise;
    if (r.error !== undefined && !r.reported && this.waiters > 0) {
      r.reported = true;
      this.worker.logError(r.error);
    }
    return r;
  }

  private repairing: Promise<GoalResult | undefined> | undefined;

  /**
   * 2.8 `repairClosure`: the outputs are good; check the rest of their closure
   * and repair each corrupt path through the derivation that produced it.
   * Returns a failure when some could not be repaired.
   */
  private async repairClosure(outputs: Map<string, StorePath>): Promise<GoalResult | undefined> {
    const w = this.worker;
    const sd = w.store.storeDir;
    const own = new Set([...outputs.values()].map((p) => sd.print(p)));
    const closure = [...(await w.closure([...outputs.values()]))].filter((p) => !own.has(p));
    const outputToDrv = new Map<string, StorePath>();
    for (const d of await w.store.computeFSClosure([this.drvPath])) {
      if (!d.endsWith('.drv')) continue;
      const dp = sd.parse(d);
      for (const o of w.loadDerivation(dp).outputs.values()) if (o.path !== undefined) outputToDrv.set(o.path, dp);
    }
    const pending: Promise<GoalResult>[] = [];
    for (const p of closure.sort((a, b) => compareUtf8(sd.parse(a).hashPart, sd.parse(b).hashPart))) {
      if (await w.pathContentsGood(sd.parse(p))) continue;
      w.opts.logger.log(0, `found corrupted or missing path '${p}' in the output closure of '${this.printed}'`);
      const d = outputToDrv.get(p);
      // No substituters: a corrupt path nobody built here cannot be repaired.
      pending.push(d === undefined ? Promise.resolve(failure(BuildStatus.NoSubstituters)) : w.realise({ kind: 'built', drvPath: d, outputs: 'all' }, 'repair', true));
    }
    const results = await Promise.all(pending);
    if (results.every((r) => isOk(r.status))) return undefined;
    return failure(BuildStatus.MiscFailure, new NixError(BuildErrorCode.E_MISC, `some paths in the output closure of derivation '${this.printed}' could not be repaired`));
  }

  /** All `wanted` outputs valid → their paths; otherwise undefined. */
  private async validOutputs(drv: BuildDrv, wanted: string[] | 'all'): Promise<Map<string, StorePath> | undefined> {
    const sd = this.worker.store.storeDir;
    const names = wanted === 'all' ? [...drv.outputs.keys()] : wanted;
    const out = new Map<string, StorePath>();
    for (const n of names) {
      const o = drv.outputs.get(n);
      if (o?.path === undefined) return undefined;
      const p = sd.parse(o.path);
      if (!(await this.worker.store.isValidPath(p))) return undefined;
      if (this.mode === 'repair' && !(await this.worker.pathContentsGood(p))) return undefined;
      out.set(n, p);
    }
    return out;
  }

  private async execute(drv: BuildDrv): Promise<GoalResult> {
    let r: GoalResult;
    try {
      r = await this.executeInner(drv);
    } catch (e) {
      r = e instanceof NixError && e.code === BuildErrorCode.E_CANCELLED
        ? failure(BuildStatus.MiscFailure, undefined, { cancelled: true })
        : failure(BuildStatus.MiscFailure, asNixError(e));
    }
    if (r.status !== BuildStatus.Built && r.status !== BuildStatus.AlreadyValid) this.worker.noteFailure(r);
    this.finish(r);
    return r;
  }

  private async executeInner(drv: BuildDrv): Promise<GoalResult> {
    const sd = this.worker.store.storeDir;
    // As 2.8's DerivationGoal: a concurrent GC must keep the .drv (and its
    // `<drv>.chroot` sandbox view, which GC spares only for temp-rooted drvs).
    await this.worker.store.addTempRoot(this.drvPath);
    for (const [name, o] of drv.outputs) {
      if (o.path === undefined) {
        throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `output '${name}' of '${this.printed}' has no known path (content-addressed derivations are not supported)`);
      }
    }
    if (this.mode === 'check' && (await this.validOutputs(drv, 'all')) === undefined) {
      // An error of the whole build in 2.8 (thrown out of Worker::run), not a failed goal.
      this.worker.fatal(new NixError(BuildErrorCode.E_MISC, `some outputs of '${this.printed}' are not valid, so checking is not possible`));
      return failure(BuildStatus.MiscFailure, undefined, { cancelled: true });
    }
    const dep = await this.realiseInputs(drv);
    if (dep !== undefined) return dep;
    if (this.worker.stopping.signal.aborted) return failure(BuildStatus.MiscFailure, undefined, { cancelled: true });
    this.checkPlatform(drv);
    const finalPaths = new Map([...drv.outputs].map(([n, o]) => [n, sd.parse(o.path!)] as const));
    for (const p of finalPaths.values()) await this.worker.store.addTempRoot(p);
    const locks = await this.acquireSlotAndLocks([...finalPaths.values()].map((p) => sd.print(p)));
    try {
      if (this.mode === 'normal' || this.mode === 'repair') {
        const valid = await this.validOutputs(drv, 'all');
        if (valid !== undefined) return { status: BuildStatus.AlreadyValid, outputs: valid, reported: false };
      }
      const r = await runBuild(this, drv, finalPaths);
      // Before the slot is released: without keep-going nothing else may start now.
      if (!isOk(r.status)) this.worker.noteFailure(r);
      return r;
    } finally {
      this.worker.slots.release();
      // Dependents need not wait for the lock files to go; the worker does before it returns.
      this.worker.track(Promise.all(locks.map((l) => l.deleteAndRelease())));
    }
  }

  /** Realise inputDrvs and inputSrcs; a DependencyFailed result when any fails. */
  private async realiseInputs(drv: BuildDrv): Promise<GoalResult | undefined> {
    const sd = this.worker.store.storeDir;
    const inputMode: BuildMode = this.mode === 'repair' ? 'repair' : 'normal';
    const pending: Promise<GoalResult>[] = [];
    for (const [p, outs] of [...drv.inputDrvs].sort(([a], [b]) => compareUtf8(a, b))) {
      pending.push(this.worker.realise({ kind: 'built', drvPath: sd.parse(p), outputs: outs }, inputMode, true));
    }
    for (const s of drv.inputSrcs) pending.push(this.worker.realise({ kind: 'opaque', path: sd.parse(s) }, inputMode, true));
    if (pending.length === 0) return undefined;
    let nrFailed = 0;
    let nrCancelled = 0;
    const keepGoing = this.worker.keepGoing;
    const failedEarly = await new Promise<boolean>((resolve) => {
      let left = pending.length;
      for (const p of pending) {
        void p.then((r) => {
          if (!isOk(r.status)) {
            if (r.cancelled) nrCancelled++;
            else nrFailed++;
            // Without keep-going the first real failure fails this goal at once (Nix `waiteeDone`).
            if (!keepGoing && !r.cancelled) resolve(true);
          }
          if (--left === 0) resolve(nrFailed + nrCancelled > 0);
        });
      }
    });
    if (!failedEarly) return undefined;
    if (nrFailed === 0) return failure(BuildStatus.MiscFailure, undefined, { cancelled: true });
    return failure(
      BuildStatus.DependencyFailed,
      new NixError(BuildErrorCode.E_DEPENDENCY_FAILED, `${nrFailed} dependencies of derivation '${this.printed}' failed to build`),
    );
  }

  private checkPlatform(drv: BuildDrv): void {
    const s = this.worker.settings;
    const system = s.getString('system', 'x86_64-linux');
    const platforms = new Set([system, 'builtin', ...s.getList('extra-platforms', [])]);
    const features = systemFeatures(this.worker);
    const required = getStringsAttr(drv, 'requiredSystemFeatures') ?? [];
    if (!platforms.has(drv.platform) || required.some((f) => !features.has(f))) {
      throw new NixError(
        BuildErrorCode.E_WRONG_PLATFORM,
        `a '${drv.platform}' with features {${required.join(', ')}} is required to build '${this.printed}', but I am a '${system}' with features {${[...features].sort().join(', ')}}`,
      );
    }
  }

  /** Slot first, then a non-blocking try on every output lock; on contention give the slot back and poll. */
  private async acquireSlotAndLocks(paths: string[]): Promise<FileLock[]> {
    const signal = this.worker.stopping.signal;
    let warned = false;
    let delay = 5;
    for (;;) {
      // 2.8's goal key: "b$<name>$<path>" (the prefix is the same for every derivation goal).
      await this.worker.slots.acquire(signal, `${this.drvPath.name}$${this.printed}`);
      const locks = await tryLockAll(paths);
      if (locks !== undefined) return locks;
      this.worker.slots.release();
      if (!warned) {
        warned = true;
        this.worker.opts.logger.log(1, `waiting for lock on ${paths.map((p) => `'${p}'`).join(', ')}`);
      }
      if (signal.aborted) throw cancelled();
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
    }
  }

  /** `drv!out` / `drv!*` as in Nix's goal names. */
  derivedPathString(): string {
    return `${this.printed}!${this.wanted === 'all' || this.wanted.length === 0 ? '*' : [...this.wanted].sort().join(',')}`;
  }

  isFixedOutput(drv: BuildDrv): boolean {
    return isFixedOutput(drv);
  }
}

function isOk(status: number): boolean {
  return status === BuildStatus.Built || status === BuildStatus.AlreadyValid || status === BuildStatus.Substituted;
}

/** Lock `<p>.lock` for every path in sorted order, or nothing (Nix `PathLocks::lockPaths(wait=false)`). */
async function tryLockAll(paths: string[]): Promise<FileLock[] | undefined> {
  const held: FileLock[] = [];
  for (const p of [...new Set(paths)].sort()) {
    let l: FileLock | undefined;
    for (;;) {
      l = await tryLockFile(`${p}.lock`, 'write');
      if (l === undefined || l.size === 0) break;
      // Stale: its previous holder deleted it after we opened it.
      await l.release();
    }
    if (l === undefined) {
      for (const h of held) await h.release();
      return undefined;
    }
    held.push(l);
  }
  return held;
}

export function systemFeatures(worker: Worker): Set<string> {
  const s = worker.settings;
  const def = ['benchmark', 'big-parallel', 'nixos-test'];
  if (s.isExperimentalEnabled('recursive-nix')) def.push('recursive-nix');
  return new Set(s.getList('system-features', def));
}

export function asNixError(e: unknown): NixError {
  if (e instanceof NixError) return e;
  const err = e as NodeJS.ErrnoException;
  return new NixError(BuildErrorCode.E_MISC, err?.message ?? String(e), { cause: e });
}

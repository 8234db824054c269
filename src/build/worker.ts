/**
 * The scheduler (Nix 2.8 `Worker`, `Store::buildPaths`, `buildPathsWithResults`):
 * one goal per derivation (so each output is built once per process; output
 * path locks extend that across processes), dependency order through the
 * goals awaiting their inputs, `max-jobs` job slots, `--keep-going`.
 *
 * Failure reporting mirrors Nix: a failed goal that other goals wait on logs
 * its error at once; errors of top-level goals are kept and the first is
 * rethrown (or "build of … failed" when several failed). Without keep-going the
 * first failure cancels everything else (running builders are killed, silently).
 * The exit status is Nix's bitmask: 100 | 1 timeout | 2 hash mismatch, 104 check.
 */
import { setMaxListeners } from 'node:events';
import { cpus } from 'node:os';
import { ActivityType, NixError, Verbosity, compareUtf8, type Logger, type Settings } from '../core/index.js';
import { StorePath } from '../formats/index.js';
import { BuildStatus, hashPath, type BuildMode, type BuildResult, type DerivedPath, type KeyedBuildResult } from '../store/index.js';
import { BuildErrorCode } from './errors.js';
import type { RecursiveHook, SandboxProvider } from './hooks.js';
import { JobSlots } from './job-slots.js';
import { compressLogs } from './build-log.js';
import { BuildProgress } from './progress.js';
import { DerivationGoal, type GoalResult } from './derivation-goal.js';
import { readDerivation, type BuildDrv } from './derivation.js';
import type { LocalBuildStore } from './output-registration.js';

export interface WorkerOptions {
  settings: Settings;
  logger: Logger;
  /** `NIX_LOG_DIR`. */
  logDir: string;
  /** The calling process's environment (TMPDIR, impureEnvVars). */
  env?: NodeJS.ProcessEnv;
  /** True when the logger shows build output, so failures need not repeat the log tail. */
  verboseBuild?: boolean;
  recursiveHook?: RecursiveHook;
  sandboxProvider?: SandboxProvider;
  /** How errors of goals with waiters are shown (Nix `logError`). Default: logger at Error level. */
  logError?(e: NixError): void;
}

/** Flags behind the exit status (Worker::exitStatus). */
export interface FailureFlags {
  permanentFailure: boolean;
  timedOut: boolean;
  hashMismatch: boolean;
  checkMismatch: boolean;
}

/** Logs per background `bzip2` run: a spawn costs about as much as compressing this many small logs. */
const COMPRESS_BATCH = 32;

export function exitStatusOf(f: FailureFlags): number {
  let mask = 0;
  if (f.permanentFailure || f.timedOut || f.hashMismatch) mask |= 0x04;
  if (f.timedOut) mask |= 0x01;
  if (f.hashMismatch) mask |= 0x02;
  if (f.checkMismatch) mask |= 0x08;
  if (mask) mask |= 0x60;
  return mask || 1;
}

export function parseMaxJobs(v: string | undefined): number {
  if (v === undefined) return 1;
  if (v === 'auto') return cpus().length;
  if (!/^\d+$/.test(v)) throw new NixError(BuildErrorCode.E_MISC, `configuration setting 'max-jobs' should be 'auto' or an integer`);
  return Number(v);
}

export class Worker {
  readonly slots: JobSlots;
  readonly flags: FailureFlags = { permanentFailure: false, timedOut: false, hashMismatch: false, checkMismatch: false };
  readonly stopping = new AbortController();
  readonly keepGoing: boolean;
  /** Progress activities (shared with child workers, like the job slots). */
  readonly progress: BuildProgress;
  /** Shared with child workers (recursive Nix), so every output is built once per process. */
  private readonly goals: Map<string, DerivationGoal>;
  /** Goals this worker created: the ones it waits for before returning. */
  private readonly own = new Set<DerivationGoal>();
  /**
   * Finished plain logs of this worker's builds, waiting for `bzip2`. They are
   * compressed in batches while later builds run (on another core), the rest
   * at the end: a process per log would cost more than many builds.
   */
  private readonly logsToCompress: string[] = [];
  private compressing: Promise<void> | undefined;
  private readonly drvs: Map<string, BuildDrv>;

  /**
   * `parent`: a child worker (inner builds of recursive Nix) shares the
   * parent's goals, derivations and job slots, but has its own failure flags
   * and cancellation, so an inner failure is reported to the inner client
   * instead of stopping the outer build.
   */
  constructor(readonly store: LocalBuildStore, readonly opts: WorkerOptions, parent?: Worker) {
    this.slots = parent?.slots ?? new JobSlots(parseMaxJobs(opts.settings.getRaw('max-jobs')));
    this.goals = parent?.goals ?? new Map();
    this.drvs = parent?.drvs ?? new Map();
    this.refsCache = parent?.refsCache ?? new Map();
    this.progress = parent?.progress ?? new BuildProgress(opts.logger);
    if (parent) {
      const onAbort = (): void => this.stopping.abort();
      if (parent.stopping.signal.aborted) onAbort();
      else parent.stopping.signal.addEventListener('abort', onAbort, { once: true });
    }
    this.keepGoing = opts.settings.getBool('keep-going', false);
    // Every goal waiting for a job slot listens for cancellation: hundreds, legitimately.
    setMaxListeners(0, this.stopping.signal);
  }

  get settings(): Settings {
    return this.opts.settings;
  }

  logError(e: NixError): void {
    if (this.opts.logError) this.opts.logError(e);
    else this.opts.logger.log(Verbosity.Error, `error: ${e.message}`);
  }

  /** An error that ends the whole build (2.8: thrown out of `Worker::run`); the first one wins. */
  private fatalError: NixError | undefined;

  fatal(e: NixError): void {
    this.fatalError ??= e;
    this.stopping.abort();
  }

  private readonly contentsGood = new Map<string, Promise<boolean>>();

  /** `Worker::pathContentsGood` (repair): does a valid path still have its registered NAR hash? Cached. */
  pathContentsGood(p: StorePath): Promise<boolean> {
    let r = this.contentsGood.get(p.baseName);
    if (r === undefined) {
      r = (async () => {
        const full = this.store.storeDir.print(p);
        this.opts.logger.log(Verbosity.Info, `checking path '${full}'...`);
        const info = await this.store.queryPathInfo(p);
        let good = false;
        try {
          good = info !== undefined && hashPath(full).hash.equals(info.narHash);
        } catch {
          good = false;
        }
        if (!good) this.opts.logger.log(Verbosity.Error, `path '${full}' is corrupted or missing!`);
        return good;
      })();
      this.contentsGood.set(p.baseName, r);
    }
    return r;
  }

  /** A failure that is not a cancellation stops everything unless keep-going. */
  noteFailure(r: GoalResult): void {
    if (r.status === BuildStatus.PermanentFailure || r.status === BuildStatus.InputRejected) this.flags.permanentFailure = true;
    if (r.status === BuildStatus.TimedOut) this.flags.timedOut = true;
    if (r.status === BuildStatus.NotDeterministic) this.flags.checkMismatch = true;
    if (r.hashMismatch) this.flags.hashMismatch = true;
    if (!this.keepGoing && !r.cancelled) this.stopping.abort();
  }

  exitStatus(): number {
    return exitStatusOf(this.flags);
  }

  loadDerivation(drvPath: StorePath): BuildDrv {
    let d = this.drvs.get(drvPath.baseName);
    if (d === undefined) {
      d = readDerivation(this.store.storeDir, drvPath);
      this.drvs.set(drvPath.baseName, d);
    }
    return d;
  }

  /** References of valid paths, which never change: shared by all goals (and child workers). */
  private readonly refsCache: Map<string, StorePath[]>;

  /**
   * Full paths of the closure of `roots` (Nix `computeFSClosure`), with each
   * path's references queried once per worker instead of once per build.
   */
  async closure(roots: readonly StorePath[]): Promise<Set<string>> {
    const sd = this.store.storeDir;
    const out = new Set<string>();
    const todo = [...roots];
    while (todo.length > 0) {
      const p = todo.pop()!;
      const full = sd.print(p);
      if (out.has(full)) continue;
      out.add(full);
      let refs = this.refsCache.get(p.baseName);
      if (refs === undefined) {
        const info = await this.store.queryPathInfo(p);
        if (info === undefined) throw new NixError(BuildErrorCode.E_MISC, `path '${full}' is not valid`);
        refs = info.references;
        this.refsCache.set(p.baseName, refs);
      }
      for (const r of refs) if (!out.has(sd.print(r))) todo.push(r);
    }
    return out;
  }

  /** A worker for inner builds requested by a running build (recursive Nix). */
  child(): Worker {
    return new Worker(this.store, this.opts, this);
  }

  /** Use this derivation for `drvPath` instead of reading the store (BuildDerivation). */
  injectDerivation(drv: BuildDrv): void {
    this.drvs.set(drv.drvPath.baseName, drv);
  }

  /** Build an injected derivation, which need not be a valid store path. */
  async buildInline(drvPath: StorePath, mode: BuildMode): Promise<BuildResult> {
    const r = await this.goalFor(drvPath, mode).run('all', false);
    await this.settle();
    return toBuildResult(r);
  }

  /** The goal for a derivation (shared by every requester in this process). */
  goalFor(drvPath: StorePath, mode: BuildMode): DerivationGoal {
    const key = `${mode}:${drvPath.baseName}`;
    let g = this.goals.get(key);
    if (g === undefined) {
      g = new DerivationGoal(this, drvPath, mode);
      this.goals.set(key, g);
      this.own.add(g);
    }
    return g;
  }

  /** Realise one derived path; never throws for build failures. `drvValid`: already checked. */
  async realise(p: DerivedPath, mode: BuildMode, asDependency: boolean, drvValid?: boolean): Promise<GoalResult> {
    if (p.kind === 'opaque') return this.ensureOpaque(p.path);
    drvValid ??= await this.store.isValidPath(p.drvPath);
    if (!drvValid) {
      const e = new NixError(BuildErrorCode.E_BAD_DERIVATION, `cannot build missing derivation '${this.store.storeDir.print(p.drvPath)}'`);
      const r: GoalResult = { status: BuildStatus.MiscFailure, error: e, outputs: new Map(), reported: false };
      // 2.8 makes a goal that fails to load the derivation: it counts as a failed build.
      this.goalFor(p.drvPath, mode).finish(r);
      return r;
    }
    return this.goalFor(p.drvPath, mode).run(p.outputs, asDependency);
  }

  private async ensureOpaque(path: StorePath): Promise<GoalResult> {
    if (await this.store.isValidPath(path)) return { status: BuildStatus.AlreadyValid, outputs: new Map(), reported: false };
    // No substituters: Nix's substitution goal fails without an error message of its own.
    return { status: BuildStatus.NoSubstituters, outputs: new Map(), reported: false };
  }

  /** `buildPathsWithResults`: one result per requested path, in order. */
  async buildPathsWithResults(paths: DerivedPath[], mode: BuildMode = 'normal', opts: { nested?: boolean } = {}): Promise<KeyedBuildResult[]> {
    const results = await this.runTop(paths, mode, opts.nested ?? false);
    return results.map(([path, r]) => ({ ...toBuildResult(r), path }));
  }

  /** `buildPaths`: throws Nix's error when anything failed. */
  async buildPaths(paths: DerivedPath[], mode: BuildMode = 'normal'): Promise<void> {
    // Nix keeps top-level goals in a set ordered by `key()`: substitutions first, then drvs by name, then path.
    const results = (await this.runTop(paths, mode)).sort(([a], [b]) => compareUtf8(goalKey(this, a), goalKey(this, b)));
    const failed = new Set<string>();
    let ex: NixError | undefined;
    for (const [p, r] of results) {
      if (r.error !== undefined && !r.reported) {
        if (ex === undefined) ex = r.error;
        else this.logError(r.error);
        r.reported = true;
      }
      if (!isSuccess(r.status)) failed.add(this.store.storeDir.print(p.kind === 'opaque' ? p.path : p.drvPath));
    }
    if (failed.size === 1 && ex !== undefined) {
      throw new NixError(ex.code, ex.message, { exitCode: this.exitStatus(), hint: ex.hint, cause: ex.cause });
    }
    if (failed.size > 0) {
      if (ex !== undefined) this.logError(ex);
      const list = [...failed].sort(compareUtf8).map((f) => `'${f}'`).join(', ');
      throw new NixError(BuildErrorCode.E_BUILD_FAILED, `build of ${list} failed`, { exitCode: this.exitStatus() });
    }
  }

  /**
   * `nested`: a recursive-nix request from a running build of this worker. It
   * must not settle every goal, since the requesting goal itself is still
   * running and waits for this call (that would deadlock).
   */
  private async runTop(paths: DerivedPath[], mode: BuildMode, nested = false): Promise<[DerivedPath, GoalResult][]> {
    if (this.slots.max === 0 && (await this.needsLocalBuild(paths, mode))) {
      throw new NixError(BuildErrorCode.E_MISC, "unable to start any build; either increase '--max-jobs' or enable remote builds.\nhttps://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html");
    }
    if (nested) return Promise.all(paths.map(async (p) => [p, await this.realise(p, mode, false)] as [DerivedPath, GoalResult]));
    this.progress.begin();
    try {
      // As 2.8's Worker::run: the top-level goals exist before it queries for substitutes.
      const valid = await Promise.all(paths.map((p) => (p.kind === 'built' ? this.store.isValidPath(p.drvPath) : true)));
      for (const p of paths) if (p.kind === 'built') this.goalFor(p.drvPath, mode);
      // There are no substituters to ask; the (empty) query is still an activity in 2.8's logs.
      this.opts.logger.stopActivity(this.opts.logger.startActivity(ActivityType.Unknown, 'querying info about missing paths', [], 0, Verbosity.Debug));
      const results = await Promise.all(paths.map(async (p, i) => [p, await this.realise(p, mode, false, valid[i])] as [DerivedPath, GoalResult]));
      // Like Nix's Worker::run, return only once every goal (cancelled ones too) has finished.
      await this.settle();
      await this.compressing;
      await compressLogs(this.logsToCompress.splice(0));
      if (this.fatalError !== undefined) throw this.fatalError;
      return results;
    } finally {
      this.progress.end();
    }
  }

  /** A build's log file is complete. */
  logFinished(path: string): void {
    this.logsToCompress.push(path);
    if (this.compressing !== undefined || this.logsToCompress.length < COMPRESS_BATCH) return;
    const p = compressLogs(this.logsToCompress.splice(0)).finally(() => {
      this.compressing = undefined;
    });
    this.compressing = p;
    this.track(p);
  }

  private readonly background = new Set<Promise<unknown>>();

  /** Work that must finish before this worker returns (lock releases). */
  track(p: Promise<unknown>): void {
    const q = p.catch(() => {}).finally(() => this.background.delete(q));
    this.background.add(q);
  }

  /** Wait until no goal of this worker is still running. */
  async settle(): Promise<void> {
    await this.settleGoals();
    await Promise.all([...this.background]);
  }

  private async settleGoals(): Promise<void> {
    for (;;) {
      const running = [...this.own].map((g) => g.done()).filter((p) => p !== undefined);
      if (running.length === 0) return;
      const before = this.own.size;
      await Promise.allSettled(running);
      if (this.own.size === before) return;
    }
  }

  private async needsLocalBuild(paths: DerivedPath[], mode: BuildMode): Promise<boolean> {
    const { queryMissing } = await import('./missing.js');
    if (mode !== 'normal') return paths.some((p) => p.kind === 'built');
    const m = await queryMissing(this.store, paths);
    return m.willBuild.length > 0;
  }
}

function goalKey(w: Worker, p: DerivedPath): string {
  const sp = p.kind === 'opaque' ? p.path : p.drvPath;
  return `${p.kind === 'opaque' ? 'a' : 'b'}$${sp.name}$${w.store.storeDir.print(sp)}`;
}

export function isSuccess(status: number): boolean {
  return status === BuildStatus.Built || status === BuildStatus.AlreadyValid || status === BuildStatus.Substituted || status === BuildStatus.ResolvesToAlreadyValid;
}

function toBuildResult(r: GoalResult): BuildResult {
  return {
    status: r.status as BuildResult['status'],
    errorMsg: r.error?.message ?? '',
    timesBuilt: r.timesBuilt ?? (r.status === BuildStatus.Built ? 1 : 0),
    isNonDeterministic: r.status === BuildStatus.NotDeterministic,
    startTime: r.startTime ?? 0,
    stopTime: r.stopTime ?? 0,
    builtOutputs: r.outputs,
  };
}

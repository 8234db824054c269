/**
 * Running one build (Nix 2.8 `LocalDerivationGoal::startBuilder`, `buildDone`):
 * fresh build dir, sandbox (or direct spawn), environment, recursive-nix
 * server, builder with log + timeouts, then output registration. On any
 * failure nothing is registered, partial outputs are deleted, and the build
 * dir goes away unless `keep-failed`.
 *
 * Scratch outputs: under `--check` (and for outputs that are already valid) the
 * builder writes to Nix's fallback path (`rewrite:<drv>:name:<out>`), and the
 * scratch hash part is rewritten back when the output is hashed.
 */
import { existsSync, lstatSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { ActivityType, NixError, ResultType, Verbosity } from '../core/index.js';
import { Hash, StorePath, hashPlaceholder } from '../formats/index.js';
import { BuildStatus } from '../store/index.js';
import { BuildLogSink } from './build-log.js';
import { directSandbox } from './builder/direct.js';
import { startBuiltin } from './builder/builtin-fetchurl.js';
import { makeBuilderEnv, rewriteStrings } from './builder/env.js';
import { BuilderJsonLog } from './builder/json-log.js';
import { structuredExportedReferences, writeExportedReferences } from './builder/export-references.js';
import type { Json } from './builder/structured-attrs.js';
import { monitorBuilder, type MonitorResult } from './builder/monitor.js';
import { getBoolAttr, getStringsAttr, isFixedOutput, type BuildDrv } from './derivation.js';
import { failure, type DerivationGoal, type GoalResult } from './derivation-goal.js';
import { BuildErrorCode } from './errors.js';
import { createBuildDir, deleteStorePathFs, deleteStorePathFsAsync } from './fs-util.js';
import { loadSandboxProvider, type RecursiveServer, type Sandbox } from './hooks.js';
import { registerOutputs, type OutputSpec } from './output-registration.js';
import { slotLender } from './recursive-context.js';

const SIGNAL_NAMES: Record<string, string> = {
  SIGKILL: 'Killed', SIGTERM: 'Terminated', SIGSEGV: 'Segmentation fault', SIGINT: 'Interrupt', SIGABRT: 'Aborted',
  SIGHUP: 'Hangup', SIGPIPE: 'Broken pipe', SIGQUIT: 'Quit', SIGBUS: 'Bus error', SIGFPE: 'Floating point exception',
  SIGILL: 'Illegal instruction', SIGALRM: 'Alarm clock', SIGUSR1: 'User defined signal 1', SIGUSR2: 'User defined signal 2',
};
const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11,
  SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
};

function statusToString(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `failed due to signal ${SIGNAL_NUMBERS[signal] ?? 0} (${SIGNAL_NAMES[signal] ?? signal})`;
  return `failed with exit code ${code}`;
}

/** Nix's `makeFallbackPath`: a scratch path for an output that must not be overwritten. */
function fallbackPath(goal: DerivationGoal, drv: BuildDrv, outputName: string): StorePath {
  const sd = goal.worker.store.storeDir;
  const name = outputName === 'out' ? drv.name : `${drv.name}-${outputName}`;
  return sd.makeStorePath(`rewrite:${goal.drvPath.baseName}:name:${outputName}`, new Hash('sha256', new Uint8Array(32)), name);
}

interface Prepared {
  specs: OutputSpec[];
  /** Output name → full path the builder writes. */
  scratch: Map<string, string>;
}

async function prepareOutputs(goal: DerivationGoal, drv: BuildDrv, finalPaths: Map<string, StorePath>): Promise<Prepared> {
  const store = goal.worker.store;
  const sd = store.storeDir;
  const specs: OutputSpec[] = [];
  const scratch = new Map<string, string>();
  for (const [name, final] of finalPaths) {
    const valid = await store.isValidPath(final);
    const useScratch = goal.mode !== 'normal' ? valid : valid;
    const path = useScratch ? fallbackPath(goal, drv, name) : final;
    const actual = sd.print(path);
    // Leftovers of an earlier, interrupted build are junk: remove them.
    if (existsSync(actual) || isLink(actual)) deleteStorePathFs(actual);
    scratch.set(name, actual);
    specs.push({ name, finalPath: final, actualPath: actual, ...(useScratch ? { scratchPath: path } : {}) });
  }
  return { specs, scratch };
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

async function inputClosure(goal: DerivationGoal, drv: BuildDrv): Promise<Set<string>> {
  const store = goal.worker.store;
  const sd = store.storeDir;
  const roots: StorePath[] = drv.inputSrcs.map((s) => sd.parse(s));
  for (const [p, outs] of drv.inputDrvs) {
    const inDrv = goal.worker.loadDerivation(sd.parse(p));
    for (const o of outs) {
      const path = inDrv.outputs.get(o)?.path;
      if (path !== undefined) roots.push(sd.parse(path));
    }
  }
  if (roots.length === 0) return new Set();
  return goal.worker.closure(roots);
}

async function openSandbox(goal: DerivationGoal, drv: BuildDrv, buildDir: string, closure: Set<string>, scratch: Map<string, string>): Promise<Sandbox> {
  const settings = goal.worker.settings;
  const mode = settings.getString('sandbox', 'false');
  // Builtin builders run in this process (see builtin-fetchurl.ts): nothing to isolate.
  if (mode === 'false' || mode === '' || drv.builder.startsWith('builtin:')) return directSandbox(buildDir);
  const provider = goal.worker.opts.sandboxProvider ?? (await loadSandboxProvider());
  if (provider === undefined) return directSandbox(buildDir);
  return provider.createSandbox({
    drvPath: goal.printed,
    storeDir: goal.worker.store.storeDir.dir,
    buildDir,
    inputClosure: closure,
    outputs: scratch,
    network: isFixedOutput(drv),
    noChroot: getBoolAttr(drv, '__noChroot'),
    settings,
    requiredSystemFeatures: getStringsAttr(drv, 'requiredSystemFeatures') ?? [],
    closureOf: (p) => sandboxPathClosure(goal, p),
  });
}

/** Closure of a store path named in `sandbox-paths` (2.8 binds it into the chroot too); undefined when not valid. */
async function sandboxPathClosure(goal: DerivationGoal, path: string): Promise<Set<string> | undefined> {
  const store = goal.worker.store;
  let p: StorePath;
  try {
    p = store.storeDir.parse(path);
  } catch {
    return undefined;
  }
  return (await store.isValidPath(p)) ? goal.worker.closure([p]) : undefined;
}

/** 2.8 would run a builtin builder in a sandbox or as a build user: do not lend it this process's rights. */
function builtinIsConfined(settings: DerivationGoal['worker']['settings']): boolean {
  const sandbox = settings.getString('sandbox', 'false');
  return (sandbox !== 'false' && sandbox !== '') || (process.getuid?.() === 0 && settings.getString('build-users-group', '') !== '');
}

/** 2.8's max-build-log-size; the serve protocol's client gives it as max-log-size, which wins. */
function maxLogSize(settings: DerivationGoal['worker']['settings']): number {
  return settings.getInt('max-log-size', settings.getInt('max-build-log-size', 0));
}

function cores(goal: DerivationGoal): number {
  const v = goal.worker.settings.getRaw('cores');
  if (v !== undefined && /^\d+$/.test(v)) return Number(v);
  return goal.worker.opts.env?.NIX_BUILD_CORES_DEFAULT ? Number(goal.worker.opts.env.NIX_BUILD_CORES_DEFAULT) : defaultCores();
}

let cpuCount: number | undefined;
/** `os.cpus()` reads /proc/cpuinfo; once per process is enough. */
function defaultCores(): number {
  cpuCount ??= Math.max(1, cpus().length);
  return cpuCount;
}

/** Run the builder with its build activity; the goal is counted as finished before the activity stops, as in 2.8. */
export async function runBuild(goal: DerivationGoal, drv: BuildDrv, finalPaths: Map<string, StorePath>): Promise<GoalResult> {
  const logger = goal.worker.opts.logger;
  const act = logger.startActivity(
    ActivityType.Build,
    goal.mode === 'check' ? `checking outputs of '${goal.printed}'` : goal.mode === 'repair' ? `repairing outputs of '${goal.printed}'` : `building '${goal.printed}'`,
    [goal.printed, '', 1, 1],
    0,
    Verbosity.Info,
  );
  goal.builderStarted();
  let r: GoalResult | undefined;
  try {
    r = await runBuildIn(goal, drv, finalPaths, act);
    return r;
  } finally {
    goal.finish(r ?? failure(BuildStatus.MiscFailure));
    logger.stopActivity(act);
  }
}

async function runBuildIn(goal: DerivationGoal, drv: BuildDrv, finalPaths: Map<string, StorePath>, act: number): Promise<GoalResult> {
  const worker = goal.worker;
  const settings = worker.settings;
  const startTime = Math.floor(Date.now() / 1000);
  // 2.8 counts a build once its builder has exited, whatever the outcome (BuildResult.timesBuilt).
  let timesBuilt = 0;
  const done = (r: GoalResult): GoalResult => (timesBuilt > 0 ? { ...r, timesBuilt } : r);
  const { specs, scratch } = await prepareOutputs(goal, drv, finalPaths);
  const closure = await inputClosure(goal, drv);
  const tmpRoot = worker.opts.env?.TMPDIR || tmpdir();
  const buildDir = createBuildDir(tmpRoot, goal.drvPath.baseName);
  const logger = worker.opts.logger;
  let sandbox: Sandbox | undefined;
  let server: RecursiveServer | undefined;
  let ok = false;
  let logSink: BuildLogSink | undefined;
  try {
    sandbox = await openSandbox(goal, drv, buildDir, closure, scratch);
    const jsonText = drv.env.get('__json');
    if (jsonText === undefined) await writeExportedReferences(worker.store, drv.env.get('exportReferencesGraph'), closure, buildDir);
    const exportedGraphs = jsonText === undefined ? undefined : await structuredExportedReferences(worker.store, JSON.parse(jsonText) as { [k: string]: Json }, closure);
    const rewrites = new Map<string, string>();
    for (const [name, p] of scratch) rewrites.set(hashPlaceholder(name), p);
    // A redirected output: the builder must see (and write) the scratch path wherever the final one appears.
    for (const s of specs) if (s.scratchPath) rewrites.set(s.finalPath.hashPart, s.scratchPath.hashPart);
    const env = makeBuilderEnv({
      storeDir: worker.store.storeDir.dir,
      drvEnv: drv.env,
      outputs: scratch,
      rewrites,
      isFixedOutput: isFixedOutput(drv),
      buildDir,
      buildDirInSandbox: sandbox.buildDirInSandbox,
      cores: cores(goal),
      callerEnv: worker.opts.env ?? process.env,
      exportedGraphs,
    });
    if (settings.getBool('keep-build-log', true)) {
      logSink = new BuildLogSink(worker.opts.logDir, goal.drvPath);
      if (settings.getBool('compress-build-log', true)) logSink.compress = true;
    }
    const sink = logSink;
    const appendLog = (line: string): void => {
      sink?.write(Buffer.from(line + '\n'));
      logger.result(act, ResultType.BuildLogLine, [line]);
    };
    const features = getStringsAttr(drv, 'requiredSystemFeatures') ?? [];
    if (features.includes('recursive-nix') && worker.opts.recursiveHook) {
      const sb = sandbox;
      const lend = slotLender(worker);
      server = await worker.opts.recursiveHook.start({
        drvPath: goal.drvPath,
        store: worker.store,
        storeDir: worker.store.storeDir.dir,
        buildDir,
        buildDirInSandbox: sb.buildDirInSandbox,
        inputClosure: [...closure].map((p) => worker.store.storeDir.parse(p)),
        sandboxed: sb.outputLocation !== undefined || sb.buildDirInSandbox !== buildDir,
        addPath: (p) => sb.addPath(worker.store.storeDir.print(p)),
        // A child worker: shared goals and slots, but an inner failure does not cancel the outer build.
        buildPaths: (paths) => lend(() => worker.child().buildPathsWithResults(paths, 'normal', { nested: true })),
        appendLog,
        settings,
      });
      Object.assign(env, server.env);
    }
    const req = { builder: drv.builder, args: drv.args.map((a) => rewriteStrings(a, rewrites)), env, cwd: sandbox.buildDirInSandbox };
    const proc = drv.builder.startsWith('builtin:')
      ? startBuiltin(req, { attempts: settings.getInt('download-attempts', 5), worldReadableOnly: builtinIsConfined(settings) })
      : await sandbox.spawn(req);
    const jsonLog = new BuilderJsonLog(logger, act);
    // Watch at once: Node drops the output of a child that exits before anyone listens.
    const monitored = monitorBuilder(proc, {
      maxSilentTime: settings.getInt('max-silent-time', 0),
      timeout: settings.getInt('timeout', 0),
      tailLines: settings.getInt('log-lines', 10),
      maxLogSize: maxLogSize(settings),
      onData: (c) => sink?.write(c),
      onLine: (line) => logger.result(act, ResultType.BuildLogLine, [line]),
      isEvent: (line) => jsonLog.handle(line),
      signal: worker.stopping.signal,
    });
    if (logSink) {
      try {
        logSink.open();
      } catch (e) {
        // No log file, no build (Nix opens it before it starts the builder).
        proc.kill();
        await monitored;
        throw e;
      }
    }
    const res = await monitored;
    if (res.kind !== 'cancelled') timesBuilt = 1;
    jsonLog.close();
    if (server) await stopServer(server, logger);
    const added = server ? [...server.addedPaths()].map((p) => worker.store.storeDir.print(p)) : [];
    server = undefined;
    await sandbox.destroy();
    if (sandbox.outputLocation) for (const s of specs) s.actualPath = sandbox.outputLocation(scratch.get(s.name)!);
    if (logSink) await closeLog(worker, logSink);
    logSink = undefined;
    if (res.kind !== 'exited' || res.code !== 0) return done(builderFailed(goal, drv, res));
    const reg = await registerOutputs({
      store: worker.store,
      drv,
      outputs: specs,
      referenceable: [...closure, ...added],
      check: goal.mode === 'check',
      repair: goal.mode === 'repair',
      keepFailed: settings.getBool('keep-failed', false),
    });
    if (reg.delayedError) {
      return done(failure(BuildStatus.OutputRejected, reg.delayedError, { hashMismatch: reg.hashMismatch, startTime }));
    }
    ok = true;
    return done({ status: BuildStatus.Built, outputs: reg.outputs, reported: false, startTime, stopTime: Math.floor(Date.now() / 1000) });
  } catch (e) {
    if (e instanceof NixError && e.code === BuildErrorCode.E_NOT_DETERMINISTIC) return done(failure(BuildStatus.NotDeterministic, e));
    if (e instanceof NixError && e.code === BuildErrorCode.E_INPUT_REJECTED) return done(failure(BuildStatus.InputRejected, e));
    if (e instanceof NixError) return done(failure(BuildStatus.OutputRejected, e));
    throw e;
  } finally {
    if (server) await stopServer(server, logger);
    if (sandbox) await sandbox.destroy().catch(() => {});
    if (logSink) await closeLog(worker, logSink);
    cleanup(goal, specs, buildDir, ok);
  }
}

async function closeLog(worker: DerivationGoal['worker'], sink: BuildLogSink): Promise<void> {
  await sink.close();
  if (sink.compressed) worker.track(sink.compressed);
  else if (sink.compress) worker.logFinished(sink.path);
}

async function stopServer(server: RecursiveServer, logger: GoalLogger): Promise<void> {
  try {
    await server.stop();
  } catch (e) {
    logger.log(Verbosity.Error, `error (ignored): ${(e as Error).message}`);
  }
}

type GoalLogger = DerivationGoal['worker']['opts']['logger'];

function builderFailed(goal: DerivationGoal, drv: BuildDrv, res: MonitorResult): GoalResult {
  if (res.kind === 'cancelled') return failure(BuildStatus.MiscFailure, undefined, { cancelled: true });
  const settings = goal.worker.settings;
  if (res.kind === 'logLimit') {
    const limit = maxLogSize(settings);
    const msg = `building of '${goal.derivedPathString()}' from .drv file killed after writing more than ${limit} bytes of log output`;
    return failure(BuildStatus.LogLimitExceeded, new NixError(BuildErrorCode.E_BUILD_FAILED, msg));
  }
  if (res.kind === 'silent' || res.kind === 'timeout') {
    const secs = res.kind === 'silent' ? settings.getInt('max-silent-time', 0) : settings.getInt('timeout', 0);
    const msg = `building of '${goal.derivedPathString()}' from .drv file timed out after ${secs} seconds${res.kind === 'silent' ? ' of silence' : ''}`;
    return failure(BuildStatus.TimedOut, new NixError(BuildErrorCode.E_TIMED_OUT, msg, { exitCode: 101 }));
  }
  const code = res.kind === 'exited' ? res.code : null;
  const sig = res.kind === 'exited' ? res.signal : null;
  let msg = `builder for '${goal.printed}' ${statusToString(code, sig)}`;
  if (!goal.worker.opts.verboseBuild && res.tail.length > 0) {
    msg += `;\nlast ${res.tail.length} log lines:\n${res.tail.map((l) => `> ${l}\n`).join('')}`;
    msg += `For full logs, run 'nix log ${goal.printed}'.`;
  }
  const status = isFixedOutput(drv) ? BuildStatus.TransientFailure : BuildStatus.PermanentFailure;
  return failure(status, new NixError(BuildErrorCode.E_BUILD_FAILED, msg, { exitCode: 100 }));
}

function cleanup(goal: DerivationGoal, specs: OutputSpec[], buildDir: string, ok: boolean): void {
  for (const s of specs) {
    // Scratch outputs never stay; failed outputs are junk. A relocated FOD output is gone already.
    if ((!ok || s.scratchPath !== undefined) && (existsSync(s.actualPath) || isLink(s.actualPath))) {
      if (goal.mode === 'check' && ok === false && s.actualPath.endsWith('.check')) continue;
      deleteStorePathFs(s.actualPath);
    }
  }
  if (!ok && goal.worker.settings.getBool('keep-failed', false)) {
    goal.worker.opts.logger.log(Verbosity.Error, `note: keeping build directory '${buildDir}'`);
    return;
  }
  // Off the critical path (a directory op costs ~1 ms here); usually empty, so one rmdir. The worker waits before returning.
  goal.worker.track(rmdir(buildDir).catch(() => deleteStorePathFsAsync(buildDir)));
}

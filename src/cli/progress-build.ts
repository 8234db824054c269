/**
 * What the build commands (`nix-store -r`, `nix-build`, `nix build`) share:
 * opening the store with build operations, choosing the log sink, Nix's
 * `printMissing` ("these N derivations will be built:", dependencies first),
 * parsing `drv!out,…` arguments, and printing errors with Nix's layout.
 */
import { lstatSync, readlinkSync, realpathSync, renameSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { ActivityType, NixError, ResultType, Verbosity, isNixError, compareUtf8 } from '../core/index.js';
import type { StorePath } from '../formats/index.js';
import type { BuildMode, DerivedPath, Store } from '../store/index.js';
import { buildOpsOf, queryMissing, readDerivation, withBuildOps, type Worker } from '../build/index.js';
import { openStore } from '../glue/index.js';
import { RemoteStore } from '../protocol/index.js';
import type { CliContext } from './context.js';
import { formatError, makeProgressLogger, type LogFormat, type ProgressLogger } from './progress.js';

export interface BuildSession {
  store: Store;
  logger: ProgressLogger;
  /** A scheduler of our own (local stores only). */
  worker(): Worker;
  /** `buildPaths` through our scheduler, or the store's own op (daemon stores). */
  buildPaths(paths: DerivedPath[], mode: BuildMode): Promise<void>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** `nix …` commands: status bar, `-L` prefixed logs. Legacy commands print build output raw. */
  newCli: boolean;
  verbosity: number;
}

export function makeLogger(ctx: CliContext, o: SessionOptions): ProgressLogger {
  const s = ctx.settings;
  const format = (s.getString('log-format', o.newCli ? 'bar' : 'raw') as LogFormat);
  const printBuildLogs = o.newCli
    ? s.getBool('print-build-logs', false) || format === 'bar-with-logs'
    : !s.getBool('no-build-output', false);
  const verbosity = s.getBool('quiet', false) ? Math.min(o.verbosity, Verbosity.Error) : o.verbosity;
  return makeProgressLogger({ stderr: ctx.stderr, format, printBuildLogs, prefixLines: o.newCli, verbosity });
}

export async function openBuildSession(ctx: CliContext, o: SessionOptions): Promise<BuildSession> {
  const logger = makeLogger(ctx, o);
  let store = await openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env });
  // A daemon's build log and activities arrive over the connection; show them as 2.8's client does.
  if (store instanceof RemoteStore) store.opts.logger ??= logger;
  if (buildOpsOf(store) === undefined) store = withBuildOps(store, { settings: ctx.settings, logDir: ctx.dirs.logDir, env: ctx.env });
  // Builds the store starts itself (import-from-derivation during an evaluation) log as the session's do.
  const ops = buildOpsOf(store);
  if (ops !== undefined) {
    ops.opts.logger ??= logger;
    ops.opts.verboseBuild ??= logger.isVerbose();
    ops.opts.logError ??= (e) => logger.error(e.message);
  }
  const session: BuildSession = {
    store,
    logger,
    async buildPaths(paths, mode) {
      if (buildOpsOf(store) === undefined) {
        if (store.buildPaths === undefined) throw new NixError('E0413', 'this store cannot build');
        return store.buildPaths(paths, mode);
      }
      const worker = session.worker();
      // SIGINT/SIGTERM: kill the builders, clean up (build dirs, partial outputs), then fail like Nix.
      let interrupted = false;
      const onSignal = (): void => {
        interrupted = true;
        worker.stopping.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await worker.buildPaths(paths, mode);
      } catch (e) {
        if (!interrupted) throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (interrupted) throw new NixError('E0007', 'interrupted by the user');
    },
    worker() {
      const ops = buildOpsOf(store);
      if (ops === undefined) throw new NixError('E0413', 'this store cannot build');
      return ops.makeWorker({
        logger,
        verboseBuild: logger.isVerbose(),
        env: ctx.env,
        logError: (e) => logger.error(e.message),
      });
    },
    async close() {
      logger.stop();
      await store.close?.();
    },
  };
  return session;
}

/** 2.8's `printGCWarning`: a result was realised without a GC root (printed once per process). */
export const NO_GC_ROOT_WARNING = "warning: you did not specify '--add-root'; the result might be removed by the garbage collector";

/** Print an error the way Nix does and return the exit status. */
export function reportBuildError(e: unknown, ctx: CliContext, logger?: ProgressLogger): number {
  logger?.stop();
  if (isNixError(e)) {
    if (logger) logger.error(e.message);
    else ctx.stderr.write(formatError(e.message));
    if (e.hint) ctx.stderr.write(`       ${e.hint}\n`);
    return e.exitCode;
  }
  throw e;
}

/** `followLinksToStorePath` + `drv!out,out2` parsing (nix-store -r arguments). */
export function parseDerivedPathArg(store: Store, arg: string, cwd: string): DerivedPath {
  const bang = arg.lastIndexOf('!');
  const pathPart = bang >= 0 ? arg.slice(0, bang) : arg;
  const p = followLinksToStorePath(store, pathPart, cwd);
  if (bang >= 0) {
    const outs = arg.slice(bang + 1).split(',').filter((x) => x !== '');
    return { kind: 'built', drvPath: p, outputs: outs.length === 0 || outs.includes('*') ? 'all' : outs };
  }
  if (p.isDerivation()) return { kind: 'built', drvPath: p, outputs: 'all' };
  return { kind: 'opaque', path: p };
}

export function followLinksToStorePath(store: Store, arg: string, cwd: string): StorePath {
  const sd = store.storeDir;
  let abs = resolve(cwd, arg);
  if (!sd.isInStore(abs)) {
    try {
      abs = realpathSync(abs);
    } catch {
      // Not a link; reported below.
    }
  }
  return sd.toStorePath(abs)[0];
}

/** The stored build log of a derivation (or of an output path's deriver), from the builder's log dir or the store behind it. */
export async function getBuildLogOf(store: Store, path: StorePath): Promise<Uint8Array | undefined> {
  const ops = buildOpsOf(store);
  return ops ? ops.getBuildLog(path) : store.getBuildLog?.(path);
}

/** Nix `printMissing`. */
export async function printMissing(session: BuildSession, paths: DerivedPath[]): Promise<void> {
  const { store, logger } = session;
  const act = logger.startActivity(ActivityType.Unknown, 'querying info about missing paths', [], 0, Verbosity.Debug);
  const m = await queryMissing(store, paths).finally(() => logger.stopActivity(act));
  const sd = store.storeDir;
  // The status line's "remaining" count (Nix: actBuilds' expected).
  logger.result(0, ResultType.SetExpected, [ActivityType.Build, m.willBuild.length]);
  if (m.willBuild.length > 0) {
    logger.log(Verbosity.Info, m.willBuild.length === 1 ? 'this derivation will be built:' : `these ${m.willBuild.length} derivations will be built:`);
    for (const p of topoSortDrvs(store, m.willBuild)) logger.log(Verbosity.Info, `  ${sd.print(p)}`);
  }
  if (m.unknown.length > 0) {
    logger.log(Verbosity.Info, "don't know how to build these paths:");
    for (const p of m.unknown) logger.log(Verbosity.Info, `  ${sd.print(p)}`);
  }
}

/** Dependencies first; among unrelated drvs, sorted by path (Nix's topoSortPaths, reversed). */
function topoSortDrvs(store: Store, drvs: StorePath[]): StorePath[] {
  const sd = store.storeDir;
  const items = new Map(drvs.map((d) => [sd.print(d), d]));
  const visited = new Set<string>();
  const out: StorePath[] = [];
  const visit = (full: string): void => {
    if (visited.has(full)) return;
    visited.add(full);
    const drv = readDerivation(sd, items.get(full)!);
    for (const ref of [...drv.inputDrvs.keys(), ...drv.inputSrcs].sort(compareUtf8)) if (ref !== full && items.has(ref)) visit(ref);
    out.push(items.get(full)!);
  };
  for (const k of [...items.keys()].sort(compareUtf8)) visit(k);
  return out;
}

/**
 * `addPermRoot` over any store: an atomic `LINK → path` symlink (via a temp
 * name and rename) registered with `addIndirectRoot`. An existing LINK that is
 * not a symlink into the store is an error, as in Nix.
 */
export async function addPermRoot(store: Store, path: StorePath, link: string): Promise<string> {
  const sd = store.storeDir;
  const gcRoot = resolve(link);
  if (sd.isInStore(gcRoot)) {
    throw new NixError('E0909', `creating a garbage collector root (${gcRoot}) in the Nix store is forbidden (are you running nix-build inside the store?)`);
  }
  await store.addTempRoot(path);
  try {
    const st = lstatSync(gcRoot);
    if (!st.isSymbolicLink() || !sd.isInStore(readlinkSync(gcRoot))) {
      throw new NixError('E0909', `cannot create symlink '${gcRoot}'; already exists`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const tmp = `${gcRoot}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  symlinkSync(sd.print(path), tmp);
  renameSync(tmp, gcRoot);
  await store.addIndirectRoot(gcRoot);
  return gcRoot;
}

/** `-j4` → `-j 4`, `-vvv` stays (Nix's short-flag expansion for flags with values). */
export function expandShortFlags(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const m = /^-(j|I)(.+)$/.exec(a);
    if (m) out.push(`-${m[1]}`, m[2]!);
    else out.push(a);
  }
  return out;
}

/** Tell the status line how many builds to expect, without printing the list (the new CLI). */
export async function announceExpected(session: BuildSession, paths: DerivedPath[]): Promise<void> {
  const m = await queryMissing(session.store, paths);
  session.logger.result(0, ResultType.SetExpected, [ActivityType.Build, m.willBuild.length]);
}

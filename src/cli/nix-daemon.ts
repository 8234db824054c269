/**
 * `nix-daemon` / `tix daemon` (2.8 nix-daemon.cc): serve the local store on
 * `$NIX_STATE_DIR/daemon-socket/socket` (or `$NIX_DAEMON_SOCKET_PATH`) in the
 * foreground, or one session on stdin/stdout with `--stdio`. With `--stdio`, a
 * store that is itself a daemon gets the raw bytes spliced to its socket (the
 * real daemon then decides trust); otherwise the peer is trusted, as in 2.8.
 *
 * Before it listens, the socket daemon warms its hot paths (protocol/warm-up.ts)
 * on a throwaway store under /dev/shm (else the temp dir) for at most
 * TIX_DAEMON_WARM_UP_MS milliseconds (default 500; 0 leaves it out), so its
 * first clients do not pay for V8's compilation of the add and query paths.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { NixError, CoreErrorCode, SimpleLogger, Verbosity, nixDirs, nullLogger, type Logger, type VerbosityLevel } from '../core/index.js';
import type { BuildMode, DerivedPath, Store } from '../store/index.js';
import { buildOpsOf, withBuildOps } from '../build/index.js';
import { makeRecursiveHook, openLocalStore, storeUri } from '../glue/index.js';
import {
  ProtocolErrorCode, currentOpContext, currentOpLogger, defaultSocketPath, isRemoteStoreUri, serveConnection, startDaemon, warmUpDaemon, type PathInfoCacheOptions,
} from '../protocol/index.js';
import { reachArg, takeCommonFlags, warnUnknownSettings } from './args.js';
import type { CliContext } from './context.js';
import { makeWarmUpDir, removeWarmUpDir, warmUpBase } from './warm-up-dir.js';

/**
 * The local store, able to build. Builds run with the requesting client's
 * SetOptions (keep-failed, max-silent-time, timeout, …) and log to its stderr
 * channel, as each 2.8 daemon child applies its own client's options.
 */
async function openServedStore(ctx: CliContext, uri: string): Promise<Store> {
  // openLocalStore, not openStore: this wraps the store with build ops once, itself.
  const store = openLocalStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env, uri });
  const wrapped = withBuildOps(store, {
    settings: ctx.settings,
    logDir: ctx.dirs.logDir,
    env: ctx.env,
    logger: () => currentOpLogger() ?? nullLogger,
    // A client that hangs up mid-build gets its builds cancelled, as in 2.8.
    cancel: () => currentOpContext()?.signal,
    // Builds requiring `recursive-nix` get their per-build socket (issue 8).
    recursiveHook: makeRecursiveHook({ logDir: ctx.dirs.logDir }),
  });
  const ops = buildOpsOf(wrapped);
  if (ops === undefined) return wrapped;
  const worker = () => {
    const op = currentOpContext();
    return ops.makeWorker({ settings: op?.settings() ?? ctx.settings, logger: op?.logger ?? nullLogger });
  };
  return new Proxy(wrapped, {
    get(target, prop, receiver) {
      if (prop === 'buildPaths') return (p: DerivedPath[], m?: BuildMode) => worker().buildPaths(p, m);
      if (prop === 'buildPathsWithResults') return (p: DerivedPath[], m?: BuildMode) => worker().buildPathsWithResults(p, m);
      return Reflect.get(target, prop, receiver);
    },
  });
}

/**
 * Cached path infos are used while the path is still there: a collector in
 * another process deletes it before it finishes (worker/path-info-cache.ts).
 * access(2), not lstat: no Stats object per hit; deletions in the store
 * directory are watched, so a connection's repeated hits skip even that.
 */
function stillOnDisk(store: Store): PathInfoCacheOptions {
  // One object per served store: connections given the same object share one cache.
  return { stillValid: (printed) => existsSync(printed), watchDir: store.storeDir.dir };
}

/**
 * Warm the daemon's code on a throwaway store (see the header). The dir takes
 * the warm-up prefix with our pid, so a dir left by a daemon killed
 * meanwhile is removed by the next warm-up of a pool child
 * (warm-up-dir.ts `removeStaleWarmUps`).
 */
async function warmUp(ctx: CliContext, logger: Logger, stop: () => boolean): Promise<void> {
  const budgetMs = Number(ctx.env.TIX_DAEMON_WARM_UP_MS ?? 500);
  if (!(budgetMs > 0)) return;
  let dir: string | undefined;
  const t0 = performance.now();
  try {
    dir = makeWarmUpDir(warmUpBase(), 'daemon-');
    for (const d of ['store', 'var', 'log']) mkdirSync(join(dir, d));
    const env: NodeJS.ProcessEnv = { NIX_STORE_DIR: join(dir, 'store'), NIX_STATE_DIR: join(dir, 'var'), NIX_LOG_DIR: join(dir, 'log'), NIX_CONF_DIR: join(dir, 'etc') };
    const wctx: CliContext = { ...ctx, env, dirs: nixDirs(env) };
    const store = await openServedStore(wctx, 'local');
    try {
      const rounds = await warmUpDaemon({ store, socketDir: dir, settings: ctx.settings, pathInfoCache: stillOnDisk(store), budgetMs, stop });
      logger.log(Verbosity.Debug, `warmed up with ${rounds} rounds in ${(performance.now() - t0).toFixed(0)} ms`);
    } finally {
      await store.close?.();
    }
  } catch {
    // Only an optimisation.
  } finally {
    if (dir !== undefined) removeWarmUpDir(dir);
  }
}

function spliceToDaemon(ctx: CliContext, socketPath: string): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.on('error', (e) => {
      ctx.stderr.write(`error: cannot connect to socket at '${socketPath}': ${e.message}\n`);
      resolve(1);
    });
    s.on('connect', () => {
      ctx.stdin.pipe(s);
      s.pipe(ctx.stdout as NodeJS.WritableStream);
    });
    s.on('close', () => resolve(0));
  });
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const common = takeCommonFlags(args, ctx, undefined, { defer: true });
  const { rest, verbosity } = common;
  let stdio = false;
  for (const [i, a] of rest.entries()) {
    reachArg(ctx, common, i);
    if (a === '--stdio') stdio = true;
    else if (a === '--daemon') continue;
    else if (a === '--help') {
      ctx.stdout.write('Usage: nix-daemon [--daemon | --stdio] [--option NAME VALUE]...\n');
      return 0;
    } else throw new NixError(CoreErrorCode.E_USAGE, `unrecognised flag '${a}'`, { hint: "Try 'nix-daemon --help' for more information." });
  }
  warnUnknownSettings(ctx, common);
  const logger = new SimpleLogger((l) => ctx.stderr.write(l + '\n'), Math.min(verbosity, 7) as VerbosityLevel);
  const uri = storeUri({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env });
  const socketPath = defaultSocketPath(ctx.dirs.stateDir, ctx.env);
  if (stdio && (uri === 'daemon' || uri.startsWith('unix://'))) {
    return spliceToDaemon(ctx, uri.startsWith('unix://') ? uri.slice(7) : socketPath);
  }
  // The daemon itself always serves the local store (never itself).
  const store = await openServedStore(ctx, isRemoteStoreUri(uri) ? 'local' : uri);
  try {
    if (stdio) {
      const out = ctx.stdout as NodeJS.WritableStream;
      const conn = serveConnection({ input: ctx.stdin, output: out, destroy: () => out.end() }, store, { trusted: true, settings: ctx.settings, logger, pathInfoCache: stillOnDisk(store) });
      await conn.done;
      if (conn.endedInHandshake) throw new NixError(ProtocolErrorCode.E_PROTOCOL_EOF, 'unexpected end-of-file');
      return 0;
    }
    // Listened for from here: a signal during the warm-up ends it, and the daemon never listens.
    let stopping = false;
    const stopped = new Promise<void>((resolve) => {
      const stop = (): void => {
        stopping = true;
        resolve();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await warmUp(ctx, logger, () => stopping);
    if (stopping) return 0;
    const daemon = await startDaemon({ socketPath, store, settings: ctx.settings, logger, pathInfoCache: stillOnDisk(store) });
    logger.log(Verbosity.Info, `listening on '${socketPath}'`);
    await stopped;
    await daemon.close();
    return 0;
  } finally {
    await store.close?.();
  }
}

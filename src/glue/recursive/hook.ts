/**
 * The builder's recursive-nix hook (Nix 2.8 `startDaemon`/`stopDaemon`, spec
 * recursive-nix.md §2): before the builder starts, a `RecursiveSession` (allowed
 * set, policy, call record, `RestrictedStore`) and the `.nix-socket` serving it
 * through the worker protocol; `NIX_REMOTE` points the builder at it (the
 * builder's env applies it after the drv env, so it overrides a drv value).
 * After the builder exits: connections dropped, session closed, and the added
 * paths handed back for the output reference scan.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Verbosity, type Logger } from '../../core/index.js';
import {
  RecursiveSession, SOCKET_NAME, drvInfoOf, localDerivationReader, readDerivation, recursiveNixRemote,
  type RecursiveBuildContext, type RecursiveHook, type RecursiveRegistry, type RecursiveServer,
} from '../../build/index.js';
import { serveConnection } from '../../protocol/index.js';
import { RecursiveSocket, type ServeConnection } from './socket-server.js';

export interface RecursiveHookOptions {
  /** NIX_LOG_DIR: the call record goes to `<logDir>/recursive/<drv>.jsonl`. */
  logDir?: string;
  /** The daemon-side logger for connection-level errors. */
  logger?: Logger;
  /** The protocol server (default: `serveConnection`). */
  serve?: ServeConnection;
  registry?: RecursiveRegistry;
  maxConnections?: number;
}

export function makeRecursiveHook(opts: RecursiveHookOptions = {}): RecursiveHook {
  return { start: (ctx) => startRecursiveServer(ctx, opts) };
}

export async function startRecursiveServer(ctx: RecursiveBuildContext, opts: RecursiveHookOptions = {}): Promise<RecursiveServer> {
  const storeDir = ctx.store.storeDir;
  const outer = drvInfoOf(storeDir, readDerivation(storeDir, ctx.drvPath));
  const session = new RecursiveSession({
    next: ctx.store,
    settings: ctx.settings,
    drvPath: ctx.drvPath,
    system: outer.system,
    requiredSystemFeatures: outer.requiredSystemFeatures,
    inputClosure: ctx.inputClosure,
    readDerivation: localDerivationReader(storeDir),
    materialise: ctx.sandboxed ? (p) => ctx.addPath(p) : undefined,
    builder: (paths) => ctx.buildPaths(paths),
    logDir: opts.logDir,
    buildLog: (line) => ctx.appendLog(line),
    registry: opts.registry,
  });
  let socket: RecursiveSocket;
  try {
    socket = await RecursiveSocket.listen({
      socketPath: join(ctx.buildDir, SOCKET_NAME),
      store: session.store,
      serve: opts.serve ?? serveConnection,
      logger: opts.logger,
      maxConnections: opts.maxConnections,
      owner: buildDirOwner(ctx.buildDir),
    });
  } catch (e) {
    await session.close();
    throw e;
  }
  return {
    env: { NIX_REMOTE: recursiveNixRemote(ctx.buildDirInSandbox) },
    addedPaths: () => session.addedPaths(),
    async stop() {
      await socket.stop();
      await session.close();
      opts.logger?.log(Verbosity.Debug, `recursive Nix: ${socket.connections} connection(s) for '${storeDir.print(ctx.drvPath)}'`);
    },
  };
}

/**
 * The sandbox hands the build dir to the build user when there is one; the
 * socket follows it, so a builder running as that user can connect (0600).
 */
function buildDirOwner(buildDir: string): { uid: number; gid: number } | undefined {
  const st = statSync(buildDir);
  return st.uid === process.getuid?.() ? undefined : { uid: st.uid, gid: st.gid };
}

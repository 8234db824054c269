/**
 * `nix-store --serve [--write]` (nix-store.cc `opServe`, Nix 2.8): serve the
 * configured store on stdin/stdout with the legacy SSH store protocol, as an
 * `ssh://host` store runs `<remote-program> --serve --write` on the remote
 * side. The protocol lives in protocol/serve; this module opens the store,
 * gives builds the client's settings and this process's stderr (where 2.8
 * prints build output, read by the build hook as the remote build log).
 */
import { NixError, Verbosity, type Logger } from '../../core/index.js';
import type { BuildMode, DerivedPath, Store } from '../../store/index.js';
import { buildOpsOf, withBuildOps } from '../../build/index.js';
import { makeRecursiveHook, openStore } from '../../glue/index.js';
import { RemoteStore, serveLegacy, type BuildOverrides } from '../../protocol/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { makeLogger } from '../progress-build.js';
import { usageError } from './store-common.js';

function parseFlags(rest: string[]): boolean {
  let write = false;
  for (const a of rest) {
    if (a === '--write') write = true;
    else if (a.startsWith('-')) throw usageError(`unknown flag '${a}'`);
    else throw usageError('no arguments expected');
  }
  return write;
}

/**
 * Build errors of one call: 2.8 reports a single failure only to the client,
 * and each of several failures also on stderr before the summary error.
 */
function reportingFailures(store: Store, logger: Logger, failures: NixError[]): Store {
  const run = async <T>(f: () => Promise<T>): Promise<T> => {
    failures.length = 0;
    try {
      return await f();
    } catch (e) {
      for (const x of failures) if (!(e instanceof NixError) || x.message !== e.message) logger.log(Verbosity.Error, `error: ${x.message}`);
      throw e;
    }
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'buildPaths') return (p: DerivedPath[], m?: BuildMode) => run(() => target.buildPaths!(p, m));
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** The store a build command runs with: ours with the client's settings, or a daemon's as it is. */
function buildStoreFor(ctx: CliContext, store: Store, logger: Logger) {
  const ops = buildOpsOf(store);
  return (overrides: BuildOverrides, signal: AbortSignal): Store => {
    if (ops === undefined) return store; // a daemon applies its own settings, as in 2.8 (its FIXME)
    const settings = ctx.settings.clone();
    for (const [k, v] of overrides) settings.set(k, v);
    const failures: NixError[] = [];
    const building = withBuildOps(ops.store, {
      settings,
      logDir: ctx.dirs.logDir,
      env: ctx.env,
      logger,
      verboseBuild: true,
      cancel: () => signal,
      recursiveHook: makeRecursiveHook({ logDir: ctx.dirs.logDir }),
      logError: (e) => void failures.push(e),
    });
    return reportingFailures(building, logger, failures);
  };
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  const writeAllowed = parseFlags(rest);
  const store = await openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env });
  // 2.8 serves with verbosity lvlError: build output, no progress messages.
  const logger = makeLogger(ctx, { newCli: false, verbosity: Verbosity.Error });
  // A daemon's build output reaches our stderr too (where the build hook reads it), as in 2.8.
  if (store instanceof RemoteStore) store.opts.logger = logger;
  try {
    await serveLegacy({ input: ctx.stdin, output: ctx.stdout }, store, { writeAllowed, buildStore: buildStoreFor(ctx, store, logger) });
    return 0;
  } catch (e) {
    if (!(e instanceof NixError)) throw e;
    // As 2.8's top-level handler: continuation lines are indented under the message.
    ctx.stderr.write(`error: ${e.message.replace(/\n/g, '\n       ')}\n`);
    if (e.usage) ctx.stderr.write(`Try '${ctx.programName} --help' for more information.\n`);
    return e.exitCode;
  } finally {
    logger.stop();
    await store.close?.();
    // The client may still hold its end open after an error: stop reading so the process can exit.
    (ctx.stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

/**
 * `nix log INSTALLABLE` (Nix 2.8 nix/log.cc): print the stored build log of a
 * derivation, or of the deriver of an output path. "got build log for '…' from
 * 'local'" goes to stderr first, as in 2.8.
 */
import { NixError } from '../../core/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, getBuildLogOf, openBuildSession, reportBuildError } from '../progress-build.js';
import { buildOpsOf } from '../../build/index.js';
import { storeUri } from '../../glue/index.js';

/** 2.8's `getUri()`: `local`, `daemon`, or `unix://PATH`. */
function storeName(ctx: CliContext, local: boolean): string {
  if (local) return 'local';
  const uri = storeUri({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env });
  return uri.startsWith('unix://') || uri.startsWith('ssh-ng://') ? uri : 'daemon';
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const words = argv[0] === 'log' ? argv.slice(1) : argv;
  const common = takeCommonFlags(words, ctx);
  const session = await openBuildSession(ctx, { newCli: true, verbosity: common.verbosity });
  try {
    for (const arg of common.rest) {
      const bang = arg.lastIndexOf('!');
      const p = followLinksToStorePath(session.store, bang >= 0 ? arg.slice(0, bang) : arg, process.cwd());
      const log = await getBuildLogOf(session.store, p);
      if (log === undefined) throw new NixError('E0414', 'build log of \'' + arg + "' is not available");
      ctx.stderr.write(`got build log for '${arg}' from '${storeName(ctx, buildOpsOf(session.store) !== undefined)}'\n`);
      ctx.stdout.write(Buffer.from(log));
    }
    return 0;
  } catch (e) {
    return reportBuildError(e, ctx, session.logger);
  } finally {
    await session.close();
  }
}

/**
 * `nix-store --read-log` / `-l` (Nix 2.8 nix-store.cc `opReadLog`): print the
 * stored build log of each argument (a drv, or an output path via its deriver).
 */
import { NixError } from '../../core/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, getBuildLogOf, openBuildSession, reportBuildError } from '../progress-build.js';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const common = takeCommonFlags(argv, ctx);
  const session = await openBuildSession(ctx, { newCli: false, verbosity: common.verbosity });
  try {
    for (const arg of common.rest) {
      const p = followLinksToStorePath(session.store, arg, process.cwd());
      const log = await getBuildLogOf(session.store, p);
      if (log === undefined) throw new NixError('E0414', `build log of derivation '${session.store.storeDir.print(p)}' is not available`);
      ctx.stdout.write(Buffer.from(log));
    }
    return 0;
  } catch (e) {
    return reportBuildError(e, ctx, session.logger);
  } finally {
    await session.close();
  }
}

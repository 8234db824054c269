/**
 * `nix-store -q --force-realise` (2.8 nix-store.cc `maybeUseOutputs` →
 * `realisePath`): before a query reads them, each argument is realised — a
 * derivation is built (all outputs; the "no --add-root" warning once), any
 * other path must be valid, since tix has no substituters.
 */
import { NixError, Verbosity } from '../../core/index.js';
import { openBuildSession, reportBuildError, followLinksToStorePath, NO_GC_ROOT_WARNING } from '../progress-build.js';
import type { CliContext } from '../context.js';

/** The queries whose arguments 2.8 realises with `--force-realise`. */
const REALISING = new Set(['outputs', 'requisites', 'references', 'referrers', 'referrers-closure', 'hash', 'size', 'graph', 'graphml', 'roots']);

/**
 * Realise the query's arguments. Returns an exit status when that failed;
 * otherwise a close function to call after the query, since 2.8's query sees
 * the realising process's own temp roots (`--roots` lists them).
 */
export async function forceRealise(query: string, args: string[], ctx: CliContext, verbosity: number): Promise<number | (() => Promise<void>)> {
  if (!REALISING.has(query)) return async () => undefined;
  const session = await openBuildSession(ctx, { newCli: false, verbosity });
  try {
    let warned = false;
    for (const a of args) {
      const p = followLinksToStorePath(session.store, a, process.cwd());
      if (p.isDerivation()) {
        await session.buildPaths([{ kind: 'built', drvPath: p, outputs: 'all' }], 'normal');
        if (!warned) session.logger.log(Verbosity.Warn, NO_GC_ROOT_WARNING);
        warned = true;
      } else if (!(await session.store.isValidPath(p))) {
        throw new NixError('E0201', `path '${session.store.storeDir.print(p)}' does not exist and cannot be created`);
      }
    }
    return () => session.close();
  } catch (e) {
    const status = reportBuildError(e, ctx, session.logger);
    await session.close();
    return status;
  }
}

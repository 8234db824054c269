/** `nix-store --export PATHS…` (nix-store.cc `opExport`): the export stream, dependencies first, on stdout. */
import { exportPaths } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, usageError, withStore } from './store-common.js';
import { topoSortPaths } from './query.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  for (const a of rest) if (a.startsWith('-') && a !== '--') throw usageError(`unknown flag '${a}'`);
  return withStore(ctx, async (store) => {
    const paths = rest.filter((a) => a !== '--').map((a) => followLinksToStorePath(store, a));
    const sorted = topoSortPaths(store, paths).reverse();
    for (const chunk of exportPaths(store, sorted)) {
      if (!ctx.stdout.write(chunk)) await new Promise((r) => ctx.stdout.once('drain', r));
    }
    return 0;
  });
}

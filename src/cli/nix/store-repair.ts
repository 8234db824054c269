/**
 * `nix store repair INSTALLABLES…` (nix/repair.cc in 2.8): `nix-store
 * --repair-path` for installables, a `.drv` meaning its outputs.
 */
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { StoreView } from '../nix-store/store-view.js';
import { withRepairSession } from '../nix-store/repair-path.js';
import { dropWords, nixUsage, resolveInstallables, resolvePathInstallables } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest, verbosity } = takeCommonFlags(dropWords(args, ['store', 'repair']), ctx);
  for (const a of rest) if (a.startsWith('-')) throw nixUsage(`unrecognised flag '${a}'`);
  if (rest.length === 0) throw nixUsage("'nix store repair' requires at least one installable");
  return withRepairSession(ctx, verbosity, async (s) => {
    const v = new StoreView(s.store);
    return (await resolvePathInstallables(v, resolveInstallables(v.storeDir, rest), ctx)).paths;
  });
}

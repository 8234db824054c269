/** `nix-store --init` (nix-store.cc `opInit`): create the store, state dir and database. */
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError, withStore } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  if (rest.some((a) => a.startsWith('-'))) throw usageError('unknown flag');
  if (rest.length > 0) throw usageError('no arguments expected');
  return withStore(ctx, async () => 0);
}

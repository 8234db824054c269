/** `nix store optimise` (nix/optimise-store.cc in 2.8): `nix-store --optimise`. */
import type { CliContext } from '../context.js';
import { run as optimise } from '../nix-store/optimise.js';
import { dropWords, nixUsage } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const rest = dropWords(args, ['store', 'optimise']);
  const extra = rest.find((a) => !a.startsWith('-'));
  if (extra !== undefined) throw nixUsage(`unexpected argument '${extra}'`);
  return optimise(rest, ctx);
}

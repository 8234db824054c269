/** `nix-store --load-db` (nix-store.cc `opLoadDB`): register (re-register) paths from `--dump-db` text on stdin. */
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';
import { registerFromStdin } from './register-validity.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  if (rest.some((a) => a.startsWith('-'))) throw usageError('unknown flag');
  if (rest.length > 0) throw usageError('no arguments expected');
  return registerFromStdin(ctx, { reregister: true, hashGiven: true, canonicalise: false });
}

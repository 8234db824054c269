/** `nix-store --verify [--check-contents] [--repair]` (nix-store.cc `opVerify`). */
import { verifyStore } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError, withStore } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  let checkContents = false;
  let repair = false;
  for (const a of rest) {
    if (a === '--check-contents') checkContents = true;
    else if (a === '--repair') repair = true;
    else if (a.startsWith('-')) throw usageError(`unknown flag '${a}'`);
    else throw usageError('no arguments expected');
  }
  return withStore(ctx, async (store) => {
    const log = { info: (m: string) => ctx.stderr.write(m + '\n'), error: (m: string) => ctx.stderr.write(m + '\n') };
    if (await verifyStore(store, { checkContents, repair }, log)) {
      ctx.stderr.write('warning: not all store errors were fixed\n');
      return 1;
    }
    return 0;
  });
}

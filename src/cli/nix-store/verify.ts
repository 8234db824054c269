/** `nix-store --verify [--check-contents] [--repair]` (nix-store.cc `opVerify`). */
import { verifyStore } from '../../store/index.js';
import { withAnyStore } from './store-view.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';

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
  return withAnyStore(ctx, async (v) => {
    const log = { info: (m: string) => ctx.stderr.write(m + '\n'), error: (m: string) => ctx.stderr.write(m + '\n') };
    const errors = v.local ? await verifyStore(v.local, { checkContents, repair }, log) : await v.store.verifyStore(checkContents, repair);
    if (errors) {
      ctx.stderr.write('warning: not all store errors were fixed\n');
      return 1;
    }
    return 0;
  });
}

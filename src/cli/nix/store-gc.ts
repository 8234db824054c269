/** `nix store gc [--max N] [--dry-run]` (nix/store-gc.cc). */
import type { GCOptions } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { withAnyStore } from '../nix-store/store-view.js';
import { freedLine, parseSize, runGC } from '../nix-store/gc.js';
import { dropWords, nixUsage } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(dropWords(args, ['store', 'gc']), ctx);
  const opts: GCOptions = { action: 'deleteDead' };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--max') opts.maxFreed = parseSize(a, rest[++i]);
    else if (a === '--dry-run') opts.action = 'returnDead';
    else if (a.startsWith('-')) throw nixUsage(`unrecognised flag '${a}'`);
    else throw nixUsage(`unexpected argument '${a}'`);
  }
  return withAnyStore(ctx, async (v) => {
    const store = v.store;
    const r = await runGC(store, opts, ctx);
    if (opts.action === 'deleteDead') ctx.stdout.write(freedLine(r));
    return 0;
  });
}

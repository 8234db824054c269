/**
 * `nix-store --optimise` (nix-store.cc `opOptimise`, optimise-store.cc):
 * hard-link identical files through `<store>/.links`, then report
 * "X.XX MiB freed by hard-linking N files" on stderr.
 */
import { LocalStore, optimiseStore } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  if (rest.length > 0) throw usageError('no arguments expected');
  return withAnyStore(ctx, async (v) => {
    if (!(v.store instanceof LocalStore)) {
      await v.store.optimiseStore?.();
      return 0;
    }
    const stats = await optimiseStore(v.store, {
      warn: (m) => ctx.stderr.write(`warning: ${m}\n`),
      info: (m) => ctx.stderr.write(m + '\n'),
    });
    ctx.stderr.write(`${(stats.bytesFreed / (1024 * 1024)).toFixed(2)} MiB freed by hard-linking ${stats.filesLinked} files\n`);
    return 0;
  });
}

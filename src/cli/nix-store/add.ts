/** `nix-store --add PATHS…` (nix-store.cc `opAdd`): add each as `fixed:r:sha256`, print the store path. */
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { absPath, usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';
import { addPath } from './add-path.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  const files: string[] = [];
  for (const a of rest) {
    if (a === '--') continue;
    if (a.startsWith('-') && a !== '-') throw usageError(`unknown flag '${a}'`);
    files.push(a);
  }
  return withAnyStore(ctx, async (v) => {
    for (const f of files) {
      const p = absPath(f);
      const info = await addPath(v.store, { name: p.slice(p.lastIndexOf('/') + 1), fsPath: p, method: 'recursive', hashAlgo: 'sha256' });
      ctx.stdout.write(v.print(info.path) + '\n');
    }
    return 0;
  });
}

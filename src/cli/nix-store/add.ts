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
    // Buffered like Nix's cout: one write per 64 KiB, the rest (also on error) at the end.
    let out = '';
    try {
      for (const f of files) {
        const p = absPath(f);
        const info = await addPath(v.store, { name: p.slice(p.lastIndexOf('/') + 1), fsPath: p, method: 'recursive', hashAlgo: 'sha256' });
        out += v.print(info.path) + '\n';
        if (out.length >= 65536) {
          ctx.stdout.write(out);
          out = '';
        }
      }
    } finally {
      if (out !== '') ctx.stdout.write(out);
    }
    return 0;
  });
}

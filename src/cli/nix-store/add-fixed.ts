/** `nix-store --add-fixed [--recursive] ALGO PATHS…` (nix-store.cc `opAddFixed`). */
import { parseHashType } from '../../formats/index.js';
import { NixError } from '../../core/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { absPath, usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';
import { addPath } from './add-path.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  let recursive = false;
  const pos: string[] = [];
  for (const a of rest) {
    if (a === '--recursive') recursive = true;
    else if (a === '--') continue;
    else if (a.startsWith('-') && a !== '-') throw usageError(`unknown flag '${a}'`);
    else pos.push(a);
  }
  if (pos.length === 0) throw usageError('first argument must be hash algorithm');
  let algo;
  try {
    algo = parseHashType(pos[0]!);
  } catch (e) {
    throw usageError((e as NixError).message);
  }
  return withAnyStore(ctx, async (v) => {
    for (const f of pos.slice(1)) {
      const p = absPath(f);
      const info = await addPath(v.store, {
        name: p.slice(p.lastIndexOf('/') + 1), fsPath: p, method: recursive ? 'recursive' : 'flat', hashAlgo: algo, preserveExecutable: true,
      });
      ctx.stdout.write(v.print(info.path) + '\n');
    }
    return 0;
  });
}

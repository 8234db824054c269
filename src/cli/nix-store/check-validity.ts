/** `nix-store --check-validity [--print-invalid] PATHS…` (nix-store.cc `opCheckValidity`). */
import { NixError } from '../../core/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  let printInvalid = false;
  const pos: string[] = [];
  for (const a of rest) {
    if (a === '--print-invalid') printInvalid = true;
    else if (a.startsWith('-') && a !== '--') throw usageError(`unknown flag '${a}'`);
    else if (a !== '--') pos.push(a);
  }
  // Any store (2.8 asks `isValidPath`, so a daemon store works too).
  return withAnyStore(ctx, async (v) => {
    for (const a of pos) {
      const p = followLinksToStorePath(v, a);
      if (!(await v.store.isValidPath(p))) {
        if (printInvalid) ctx.stdout.write(v.print(p) + '\n');
        else throw new NixError('E0201', `path '${v.print(p)}' is not valid`);
      }
    }
    return 0;
  });
}

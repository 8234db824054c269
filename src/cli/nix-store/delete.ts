/** `nix-store --delete [--ignore-liveness] PATHS…` (nix-store.cc `opDelete`): refuses live paths. */
import { NixError } from '../../core/index.js';
import type { GCOptions, GCResults } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';
import { freedLine, runGC } from './gc.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  const opts: GCOptions = { action: 'deleteSpecific', pathsToDelete: [] };
  const pos: string[] = [];
  for (const a of rest) {
    if (a === '--ignore-liveness') opts.ignoreLiveness = true;
    else if (a === '--') continue;
    else if (a.startsWith('-')) throw usageError(`unknown flag '${a}'`);
    else pos.push(a);
  }
  return withAnyStore(ctx, async (v) => {
    for (const p of pos) opts.pathsToDelete!.push(followLinksToStorePath(v, p));
    let r: GCResults = { paths: [], bytesFreed: 0 };
    try {
      r = await runGC(v.store, opts, ctx);
    } catch (e) {
      if (e instanceof NixError) ctx.stdout.write(freedLine(r));
      throw e;
    }
    ctx.stdout.write(freedLine(r));
    return 0;
  });
}

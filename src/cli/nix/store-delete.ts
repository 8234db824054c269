/** `nix store delete [--ignore-liveness] PATHS…` (nix/store-delete.cc): refuses live paths. */
import { NixError } from '../../core/index.js';
import type { GCOptions, GCResults } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { withAnyStore } from '../nix-store/store-view.js';
import { freedLine, runGC } from '../nix-store/gc.js';
import { dropWords, nixUsage, resolveInstallables, resolvePathInstallables } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(dropWords(args, ['store', 'delete']), ctx);
  const opts: GCOptions = { action: 'deleteSpecific' };
  const pos: string[] = [];
  for (const a of rest) {
    if (a === '--ignore-liveness') opts.ignoreLiveness = true;
    else if (a.startsWith('-')) throw nixUsage(`unrecognised flag '${a}'`);
    else pos.push(a);
  }
  return withAnyStore(ctx, async (v) => {
    const store = v.store;
    opts.pathsToDelete = (await resolvePathInstallables(v, resolveInstallables(v.storeDir, pos), ctx)).paths;
    const none: GCResults = { paths: [], bytesFreed: 0 };
    try {
      ctx.stdout.write(freedLine(await runGC(store, opts, ctx)));
    } catch (e) {
      if (e instanceof NixError) ctx.stdout.write(freedLine(none));
      throw e;
    }
    return 0;
  });
}

/** `nix-store --dump-db [PATHS…]` (nix-store.cc `opDumpDB`): registration text of all (or the given) paths. */
import { makeValidityRegistration, type ValidPathInfo } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  if (rest.some((a) => a.startsWith('-') && a !== '--')) throw usageError('unknown flag');
  const pos = rest.filter((a) => a !== '--');
  // Any store: a daemon's path infos come through QueryPathInfo, as in 2.8.
  return withAnyStore(ctx, async (v) => {
    const paths = pos.length > 0 ? pos.map((a) => followLinksToStorePath(v, a)) : await v.store.queryAllValidPaths();
    const chunks: string[] = [];
    for (const p of paths) {
      const i: ValidPathInfo = await v.info(p);
      chunks.push(makeValidityRegistration(v.storeDir, [i], true));
    }
    ctx.stdout.write(chunks.join(''));
    return 0;
  });
}

/** `nix-store --dump-db [PATHS…]` (nix-store.cc `opDumpDB`): registration text of all (or the given) paths. */
import { makeValidityRegistration, type ValidPathInfo } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, notValid, usageError, withStore } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  if (rest.some((a) => a.startsWith('-') && a !== '--')) throw usageError('unknown flag');
  const pos = rest.filter((a) => a !== '--');
  return withStore(ctx, async (store) => {
    const paths = pos.length > 0 ? pos.map((a) => followLinksToStorePath(store, a)) : await store.queryAllValidPaths();
    const chunks: string[] = [];
    for (const p of paths) {
      const i: ValidPathInfo | undefined = store.queryPathInfoSync(p);
      if (i === undefined) throw notValid(store, p);
      chunks.push(makeValidityRegistration(store.storeDir, [i], true));
    }
    ctx.stdout.write(chunks.join(''));
    return 0;
  });
}

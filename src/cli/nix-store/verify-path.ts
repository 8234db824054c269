/** `nix-store --verify-path PATHS…` (nix-store.cc `opVerifyPath`): exit 1 when any was modified. */
import { checkContents } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, notValid, usageError, withStore } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  if (rest.some((a) => a.startsWith('-') && a !== '--')) throw usageError('no flags expected');
  return withStore(ctx, async (store) => {
    let status = 0;
    const log = { info: () => undefined, error: (m: string) => ctx.stderr.write(m + '\n') };
    for (const a of rest.filter((x) => x !== '--')) {
      const p = followLinksToStorePath(store, a);
      if (store.queryPathInfoSync(p) === undefined) throw notValid(store, p);
      if (!checkContents(store, store.print(p), log)) status = 1;
    }
    return status;
  });
}

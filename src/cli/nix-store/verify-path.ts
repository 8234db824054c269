/**
 * `nix-store --verify-path PATHS…` (nix-store.cc `opVerifyPath`): exit 1 when
 * any was modified. On a daemon store, as 2.8 does for any store: the path
 * info (QueryPathInfo) and the NAR (NarFromPath) come from the daemon and the
 * hash is computed here.
 */
import { HashSink } from '../../formats/index.js';
import { checkContents, type Store } from '../../store/index.js';
import type { StorePath } from '../../formats/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  if (rest.some((a) => a.startsWith('-') && a !== '--')) throw usageError('no flags expected');
  return withAnyStore(ctx, async (v) => {
    let status = 0;
    const log = { info: () => undefined, error: (m: string) => ctx.stderr.write(m + '\n') };
    for (const a of rest.filter((x) => x !== '--')) {
      const p = followLinksToStorePath(v, a);
      await v.info(p);
      const ok = v.local ? checkContents(v.local, v.print(p), log) : await checkRemote(v.store, p, log);
      if (!ok) status = 1;
    }
    return status;
  });
}

async function checkRemote(store: Store, p: StorePath, log: { error(m: string): void }): Promise<boolean> {
  const info = (await store.queryPathInfo(p))!;
  const sink = new HashSink(info.narHash.type);
  for await (const chunk of store.narFromPath(p)) sink.update(chunk);
  const got = sink.finish();
  if (got.equals(info.narHash)) return true;
  log.error(`path '${store.storeDir.print(p)}' was modified! expected hash '${info.narHash.toString('base32')}', got '${got.toString('base32')}'`);
  return false;
}

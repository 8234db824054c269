/**
 * `nix-store --export PATHS…` (nix-store.cc `opExport`): the export stream,
 * dependencies first, on stdout. A daemon store is read as 2.8's
 * `Store::exportPath` reads any store: NarFromPath, checked against narHash.
 */
import { NixError } from '../../core/index.js';
import { HashSink, WireWriter, type StorePath } from '../../formats/index.js';
import { StoreErrorCode, exportPaths, type Store } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  for (const a of rest) if (a.startsWith('-') && a !== '--') throw usageError(`unknown flag '${a}'`);
  return withAnyStore(ctx, async (v) => {
    const paths = rest.filter((a) => a !== '--').map((a) => followLinksToStorePath(v, a));
    const sorted = (await v.topoSort(paths)).reverse();
    const stream = v.local ? exportPaths(v.local, sorted) : exportAny(v.store, sorted);
    for await (const chunk of stream) {
      if (!ctx.stdout.write(chunk)) await new Promise((r) => ctx.stdout.once('drain', r));
    }
    return 0;
  });
}

/** The export stream of `sorted` from any store (see store/local/export.ts for the format). */
async function* exportAny(store: Store, sorted: readonly StorePath[]): AsyncGenerator<Uint8Array> {
  const print = (p: StorePath): string => store.storeDir.print(p);
  for (const p of sorted) {
    const info = await store.queryPathInfo(p);
    if (info === undefined) throw new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${print(p)}' is not valid`);
    yield new WireWriter(8).u64(1).take();
    const h = new HashSink('sha256');
    for await (const chunk of store.narFromPath(p)) {
      h.update(chunk);
      yield chunk;
    }
    const got = h.finish();
    if (!got.equals(info.narHash)) {
      throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, `hash of path '${print(p)}' has changed from '${info.narHash.toString('base32')}' to '${got.toString('base32')}'!`);
    }
    const w = new WireWriter(256).u64(0x4558494e).string(print(p)).strings(info.references.map(print));
    yield w.string(info.deriver ? print(info.deriver) : '').u64(0).take();
  }
  yield new WireWriter(8).u64(0).take();
}

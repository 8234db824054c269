/**
 * `addToStore` from a stream (the daemon's AddToStore, `nix-store --restore`
 * style sources): a NAR for `recursive`, file bytes for `flat`, text for
 * `text`, restored or written into a rooted temp entry, hashed on the way.
 */
import type { Hash } from '../../formats/index.js';
import type { AddToStoreOptions, ValidPathInfo } from '../store.js';
import type { LocalStore } from './local-store.js';
import { sortPaths } from './path-info.js';
import { checkAddName, deletePath, fixedCa, narHashes, writeStreamHashed } from './add-to-store.js';
import { restoreNarHashed } from './nar.js';

export async function addToStore(store: LocalStore, opts: AddToStoreOptions): Promise<ValidPathInfo> {
  checkAddName(opts.name);
  if (opts.method === 'text') {
    const chunks: Uint8Array[] = [];
    for await (const c of opts.source) chunks.push(c);
    const p = await store.addTextToStore(opts.name, Buffer.concat(chunks), opts.references ?? []);
    return store.queryPathInfoSync(p)!;
  }
  const tmp = await store.makeRootedTemp();
  try {
    let caHash: Hash;
    let narHash: Hash;
    let narSize: number;
    if (opts.method === 'recursive') {
      const r = await restoreNarHashed(tmp, opts.source, opts.hashAlgo);
      ({ narHash, narSize, caHash } = r);
    } else {
      ({ hash: caHash } = await writeStreamHashed(tmp, opts.source, opts.hashAlgo));
      ({ hash: narHash, narSize } = hashPathWithSize(tmp));
    }
    const recursive = opts.method === 'recursive';
    const path = store.storeDir.makeFixedOutputPath({ recursive, hash: caHash, name: opts.name, references: opts.references });
    const info: ValidPathInfo = {
      path, narHash, narSize, references: sortPaths([...(opts.references ?? [])]), registrationTime: 0, ultimate: false, sigs: [],
      ca: fixedCa(recursive, caHash),
    };
    return await store.finishAdd(tmp, info, opts.repair, recursive);
  } finally {
    deletePath(tmp);
  }
}

function hashPathWithSize(p: string, sizeHint = Infinity): { hash: Hash; narSize: number } {
  const r = narHashes(p, ['sha256'], sizeHint);
  return { hash: r.hashes[0]!, narSize: r.narSize };
}

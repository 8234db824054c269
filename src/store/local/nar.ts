/**
 * NAR → file system for adds from a stream (`addToStore` recursive,
 * `addToStoreNar`, `--import`). The parser is the formats team's strict
 * `restorePath` (store/nar-fs.ts). Hashes are taken from the restored tree,
 * so what gets registered is exactly what is on disk, whatever bytes follow
 * the NAR in the stream.
 */
import type { ByteReader, Hash, HashType } from '../../formats/index.js';
import { restorePath } from '../nar-fs.js';
import { narHashes } from './add-to-store.js';

export interface RestoredNar {
  narHash: Hash;
  narSize: number;
  /** The NAR hashed with the requested algorithm (equals narHash for sha256). */
  caHash: Hash;
}

/** Restore one NAR from `source` at `target` (which must not exist). */
export async function restoreNarHashed(
  target: string,
  source: AsyncIterable<Uint8Array> | ByteReader,
  caAlgo: HashType,
): Promise<RestoredNar> {
  await restorePath(target, source);
  const algos: HashType[] = caAlgo === 'sha256' ? ['sha256'] : ['sha256', caAlgo];
  const r = narHashes(target, algos, Infinity);
  return { narHash: r.hashes[0]!, narSize: r.narSize, caHash: r.hashes[algos.length - 1]! };
}

/**
 * NAR → file system for adds from a stream (`addToStore` recursive,
 * `addToStoreNar`, `--import`), hashing the bytes as they pass. The NAR parser
 * itself is the formats team's `restorePath` in store/nar-fs.ts.
 */
import { NixError, CoreErrorCode } from '../../core/index.js';
import { HashSink, type Hash, type HashType } from '../../formats/index.js';
import * as narFs from '../nar-fs.js';

export interface RestoredNar {
  narHash: Hash;
  narSize: number;
  /** The NAR hashed with the requested algorithm (equals narHash for sha256). */
  caHash: Hash;
}

type RestoreFn = (target: string, source: AsyncIterable<Uint8Array>) => Promise<unknown>;

/** Restore `source` at `target` (which must not exist), hashing the NAR bytes. */
export async function restoreNarHashed(target: string, source: AsyncIterable<Uint8Array>, caAlgo: HashType): Promise<RestoredNar> {
  const restore = (narFs as unknown as { restorePath?: RestoreFn }).restorePath;
  if (restore === undefined) throw new NixError(CoreErrorCode.E_NOT_IMPLEMENTED, 'restoring a NAR is not implemented yet');
  const sha = new HashSink('sha256');
  const ca = caAlgo === 'sha256' ? undefined : new HashSink(caAlgo);
  async function* tee(): AsyncIterable<Uint8Array> {
    for await (const c of source) {
      sha.update(c);
      ca?.update(c);
      yield c;
    }
  }
  await restore(target, tee());
  const narHash = sha.finish();
  return { narHash, narSize: sha.bytes, caHash: ca?.finish() ?? narHash };
}

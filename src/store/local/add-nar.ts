/**
 * `addToStoreNar` for a LocalStore: a NAR restored and hashed in one pass,
 * and its synchronous short way for a NAR in memory that is one small
 * regular file (the daemon's usual upload).
 */
import { existsSync } from 'node:fs';
import { NixError } from '../../core/index.js';
import type { ByteReader } from '../../formats/index.js';
import { StoreErrorCode } from '../errors.js';
import type { AddToStoreNarOptions, ByteSource, ValidPathInfo } from '../store.js';
import type { LocalStore } from './local-store.js';
import { infoToRow } from './path-info.js';
import { SMALL_FILE, deletePath, digestOf, makeTempPath } from './add-to-store.js';
import { restoreNarHashed, skipNar } from './nar.js';
import { singleFileNar } from './single-file-nar.js';

/**
 * `addToStore(info, narSource)`: the NAR must match `info.narHash`/`narSize`.
 * The NAR is restored and hashed in one pass; a single small file stays in
 * memory and is written under its final name only once it checked out.
 */
export async function addToStoreNar(store: LocalStore, info: ValidPathInfo, nar: ByteSource | ByteReader, opts: AddToStoreNarOptions = {}): Promise<void> {
  const printed = store.print(info.path);
  store.checkRefsValid(printed, info.references, info.path);
  await store.rootSmall(printed);
  // As for small adds, a path absent on disk is not valid (no database read).
  if (!opts.repair && existsSync(printed) && store.db.isValid(printed)) {
    // Consume the NAR anyway, as Nix does, so a stream of several stays in step.
    if (Symbol.asyncIterator in nar) for await (const _ of nar as ByteSource) void _;
    else await skipNar(nar);
    return;
  }
  const tmp = makeTempPath(store.storeDir, info.path.hashPart);
  // Until the NAR turns out to be one small file kept in memory, `tmp` may exist.
  let onDisk = true;
  try {
    const r = await restoreNarHashed(tmp, nar, 'sha256', { inMemoryMax: SMALL_FILE });
    if (r.inMemory !== undefined) onDisk = false;
    if (!r.narHash.equals(info.narHash)) {
      throw new NixError(
        StoreErrorCode.E_NAR_HASH_MISMATCH,
        `hash mismatch importing path '${printed}';\n  specified: ${info.narHash.toString('base32')}\n  got:       ${r.narHash.toString('base32')}`,
      );
    }
    if (info.narSize !== 0 && info.narSize !== r.narSize) {
      throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, `size mismatch importing path '${printed}';\n  specified: ${info.narSize}\n  got:       ${r.narSize}`);
    }
    // A copy only when the size was not given (0): the usual info is passed on as it is.
    const final = info.narSize === r.narSize ? info : { ...info, narSize: r.narSize };
    if (r.inMemory === undefined) {
      await store.finishAdd(tmp, final, opts.repair, true);
      return;
    }
    // Rooted above; only the lock is missing. Synchronous from the lock on (see rootSmall).
    const locks = store.lockSmall(printed) ? undefined : await store.lockSmallSlow(printed);
    try {
      putSmallNar(store, info, final, r.inMemory.contents, r.inMemory.executable, opts.repair === true);
    } finally {
      locks?.unlockSync();
    }
  } finally {
    if (onDisk) deletePath(tmp);
  }
}

/**
 * `addToStoreNar` without an await, the same steps in the same order, for
 * a NAR in memory that is one small regular file (the daemon's usual
 * upload): no stream, no async parse. Declines (false) a repair, any
 * other NAR, a hash or size that does not match (so `addToStoreNar`
 * words the error), and a temp root or path lock not to be had at once.
 */
export function addToStoreNarSync(store: LocalStore, info: ValidPathInfo, nar: Uint8Array, opts: AddToStoreNarOptions = {}): boolean {
  if (opts.repair || nar.length > SMALL_FILE + 256) return false;
  const printed = store.print(info.path);
  store.checkRefsValid(printed, info.references, info.path);
  if (!store.tempRoots.tryAddSync(printed)) return false;
  if (existsSync(printed) && store.db.isValid(printed)) return true;
  const file = singleFileNar(nar);
  if (file === undefined || (info.narSize !== 0 && info.narSize !== nar.length)) return false;
  // The NAR is canonical byte for byte (singleFileNar): its hash is the parser's.
  if (!digestOf('sha256', nar).equals(info.narHash)) return false;
  if (!store.lockSmall(printed)) return false;
  putSmallNar(store, info, info.narSize === nar.length ? info : { ...info, narSize: nar.length }, file.contents, file.executable, false);
  return true;
}

/** Write and register a small single-file NAR's contents (temp root and path lock held, hash checked). */
function putSmallNar(store: LocalStore, info: ValidPathInfo, final: ValidPathInfo, contents: Uint8Array, executable: boolean, repair: boolean): void {
  if (!store.writeSmallFile(info.path, contents, executable, repair)) return;
  // References were checked before (the transaction checks them again).
  store.db.registerValidPath(infoToRow(store.storeDir, final, info.path.isDerivation() ? store.drvOutputsOfBytes(contents) : undefined));
}

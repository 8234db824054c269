/**
 * Adding a file-system path to a LocalStore (`nix-store --add`,
 * `--add-fixed`, `builtins.path`): small regular files from memory in one
 * pass, anything else copied (and hashed) into a rooted temp entry first.
 */
import { existsSync, lstatSync } from 'node:fs';
import { hashBytes, type Hash, type HashType } from '../../formats/index.js';
import type { ValidPathInfo } from '../store.js';
import type { AddPathOptions, LocalStore } from './local-store.js';
import { infoToRow } from './path-info.js';
import { SMALL_FILE, deletePath, fixedCa, hashRegularNar, narHashes, notFound, readSmallFile } from './add-to-store.js';
import { copyTree } from './canonicalise.js';
import { copyFileHashed } from './copy-hashed.js';
import { copyTreeHashed } from './copy-tree.js';

/** Add a file-system path (`nix-store --add`, `--add-fixed`, `builtins.path`). */
export async function addPathToStore(store: LocalStore, opts: AddPathOptions): Promise<ValidPathInfo> {
  // As in Nix, a bad name is reported when the path is made (after hashing).
  let st;
  try {
    st = lstatSync(opts.fsPath);
  } catch {
    throw notFound(opts.fsPath);
  }
  if (st.isFile() && st.size <= SMALL_FILE) return addSmallFile(store, opts, (st.mode & 0o100) !== 0, st.size);
  const tmp = await store.makeRootedTemp();
  try {
    let caHash: Hash;
    let narHash: Hash;
    let narSize: number;
    let canonical = false;
    if (opts.method === 'recursive' && opts.hashAlgo === 'sha256') {
      // One pass: the NAR hash is taken from the bytes as they are copied, canonical as written.
      ({ hash: narHash, narSize } = await copyTreeHashed(opts.fsPath, tmp));
      caHash = narHash;
      canonical = true;
    } else if (opts.method === 'recursive') {
      copyTree(opts.fsPath, tmp);
      const algos: HashType[] = opts.hashAlgo === 'sha256' ? ['sha256'] : ['sha256', opts.hashAlgo];
      const r = narHashes(tmp, algos, st.isFile() ? st.size : Infinity);
      narHash = r.hashes[0]!;
      caHash = r.hashes[algos.length - 1]!;
      narSize = r.narSize;
    } else {
      // One pass: contents hash and NAR hash from the bytes as they are copied.
      const r = copyFileHashed(opts.fsPath, tmp, opts.hashAlgo, opts.preserveExecutable === true && (st.mode & 0o100) !== 0);
      ({ hash: narHash, narSize, fileHash: caHash } = r);
    }
    const recursive = opts.method === 'recursive';
    const path = store.storeDir.makeFixedOutputPath({ recursive, hash: caHash, name: opts.name });
    const info: ValidPathInfo = {
      path, narHash, narSize, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: fixedCa(recursive, caHash),
    };
    return await store.finishAdd(tmp, info, opts.repair, canonical);
  } finally {
    deletePath(tmp);
  }
}

/**
 * A small regular file: read once into memory, hash those bytes, then root,
 * lock and write exactly them (one helper round trip per add).
 */
async function addSmallFile(store: LocalStore, opts: AddPathOptions, executable: boolean, size: number): Promise<ValidPathInfo> {
  let data: Uint8Array;
  try {
    data = readSmallFile(opts.fsPath, size);
  } catch {
    throw notFound(opts.fsPath);
  }
  const recursive = opts.method === 'recursive';
  const exec = executable && (recursive || opts.preserveExecutable === true);
  const algos: HashType[] = recursive && opts.hashAlgo !== 'sha256' ? ['sha256', opts.hashAlgo] : ['sha256'];
  const { hashes, narSize } = hashRegularNar(data, exec, algos);
  const narHash = hashes[0]!;
  const caHash = !recursive ? hashBytes(opts.hashAlgo, data) : hashes[algos.length - 1]!;
  const path = store.storeDir.makeFixedOutputPath({ recursive, hash: caHash, name: opts.name });
  const printed = store.print(path);
  const info: ValidPathInfo = {
    path, narHash, narSize, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: fixedCa(recursive, caHash),
  };
  if (!opts.repair && existsSync(printed) && (await store.rootIfValid(printed))) return store.queryPathInfoSync(path)!;
  await store.rootSmall(printed);
  // Synchronous from the lock on (see rootSmall).
  const locks = store.lockSmall(printed) ? undefined : await store.lockSmallSlow(printed);
  try {
    if (!store.writeSmallFile(path, data, exec, opts.repair === true)) return store.queryPathInfoSync(path)!;
    store.db.registerValidPath(infoToRow(store.storeDir, info, path.isDerivation() ? store.drvOutputsOfBytes(data) : undefined));
    return info;
  } finally {
    locks?.unlockSync();
  }
}

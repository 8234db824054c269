/**
 * Atomic, crash-safe addition of store objects (local-store.cc
 * `addToStoreFromDump`, `addTextToStore`, `addToStore(info, source)`).
 *
 * Protocol, for every kind of add:
 *   1. write the object under a temp name inside the store dir
 *      (`<hashPart>-tix-tmp-<pid>-<n>`, its hash part a temp root);
 *   2. compute its hashes from what was written, decide the final path;
 *   3. take a temp root, then the path lock; if the path became valid, drop
 *      the temp copy (a no-op add);
 *   4. canonicalise metadata, fsync contents (when `fsync-store-paths`),
 *      rename into place, fsync the
 *      store dir, and register in one transaction.
 * A kill before 4's rename leaves only a temp entry (GC removes it); a kill
 * between rename and commit leaves complete but unregistered contents under
 * the final name, which is invalid and gets replaced by the next add or GC.
 *
 * Small files and texts (already in memory, hashed first) take the path
 * lock before writing and skip the temp name: an unnamed O_TMPFILE inode is
 * filled and canonicalised through its fd, then linked in under the final
 * name (`writeFileAtomic`), which a kill at any point leaves either absent
 * or complete.
 */
import { existsSync, lstatSync, renameSync, rmSync, chmodSync, readdirSync, openSync, writeSync, closeSync, fsyncSync, futimesSync, fchmodSync, fchownSync, statSync, readSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as nodeCrypto from 'node:crypto';
import { NixError, CoreErrorCode } from '../../core/index.js';
import {
  Hash, HashSink, checkName, isValidName, encodeBase32, hashBytes, serialiseNar, regularFromBytes, type HashType, type StoreDir,
} from '../../formats/index.js';
import { canonicalisePathMetaData, fsyncTree, fsyncDir, isRoot, ourUid, ourGid } from './canonicalise.js';
import { dumpPathSync, hashPath } from '../nar-fs.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_FOLLOW, EEXIST, EPERM, O_TMPFILE_WRONLY, loadLibc } from '../libc.js';

const ENOENT = 2;

let counter = 0;

/**
 * A fresh temp name inside the store dir. It parses as a store path whose
 * hash part is `hashPart` (the final path's, or a random one): the caller
 * makes that hash part a temp root first, so neither Nix's GC nor ours
 * deletes the entry while we fill it (both spare invalid entries whose hash
 * part is a temp root, and delete unparseable ones).
 */
/** Files up to this size are added from memory in one pass. */
export const SMALL_FILE = 1 << 20;

export function makeTempPath(storeDir: StoreDir, hashPart: string): string {
  // As `StoreDir.print` (the dir has no trailing slash): no path.join normalising per add.
  return `${storeDir.dir}/${hashPart}-tix-tmp-${process.pid}-${counter++}`;
}

/** A random 32-char nix-base32 hash part for temp entries. */
export function randomHashPart(): string {
  return encodeBase32(nodeCrypto.randomBytes(20));
}

/** Remove a file-system object, making read-only dirs writable first. */
export function deletePath(path: string): void {
  let st;
  try {
    // No throw for a missing path: every add's cleanup calls this for a temp name already gone.
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return;
  }
  if (st === undefined) return;
  if (st.isDirectory()) {
    if ((st.mode & 0o700) !== 0o700) chmodSync(path, st.mode | 0o700);
    for (const e of readdirSync(path)) deletePath(join(path, e));
  }
  rmSync(path, { recursive: true, force: true });
}

/**
 * Bytes a deletion frees, counted as Nix's `deletePath` does: the size of
 * every non-directory with at most two links (two: likely an optimised file).
 */
export function diskUsage(path: string): number {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.nlink <= 2 ? st.size : 0;
  let n = 0;
  for (const e of readdirSync(path)) n += diskUsage(join(path, e));
  return n;
}

export interface Finalise {
  tmp: string;
  final: string;
  fsync: boolean;
  /** `tmp` already has canonical metadata (written by `writeNewFile` with `canonical`). */
  canonical?: boolean;
}

/** Step 4 up to (not including) registration: canonicalise, fsync, rename. */
export function moveIntoPlace(f: Finalise): void {
  if (!f.canonical) canonicalisePathMetaData(f.tmp);
  if (f.fsync) fsyncTree(f.tmp);
  // rename(2) atomically replaces a leftover file or symlink under the final
  // name; only a leftover directory (or a directory onto a file) needs
  // deleting first. Saves the existence checks on every add.
  try {
    renameSync(f.tmp, f.final);
  } catch (e) {
    if (!['EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    deletePath(f.final);
    renameSync(f.tmp, f.final);
  }
  if (f.fsync) fsyncDir(f.final.slice(0, f.final.lastIndexOf('/')) || '/');
}

/** Validate a name the way Nix does before touching the store. */
export function checkAddName(name: string): void {
  // The one-regex check first; the per-character one only to name the culprit.
  if (!isValidName(name)) checkName(name, name);
}

/**
 * Write bytes to a new file and fsync. With `canonical`, the file is
 * created with its final mode (0444, or 0555 when `executable`) and mtime 1
 * through the open fd, so `moveIntoPlace` need not walk it again.
 */
export function writeNewFile(path: string, data: Uint8Array, fsync: boolean, canonical?: { executable: boolean }): void {
  const mode = canonical === undefined ? 0o644 : canonical.executable ? 0o555 : 0o444;
  const fd = openSync(path, 'wx', mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    if (canonical !== undefined) {
      fchmodSync(fd, mode); // whatever the umask took away
      futimesSync(fd, 1, 1);
      // Owner as canonicalisePathMetaData makes it (a setgid store dir may have set the group).
      if (!newFilesOwnedRight(path.slice(0, path.lastIndexOf('/')) || '/')) fchownSync(fd, ourUid(), ourGid());
    }
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

let tmpfileUnsupported = false;

/**
 * Whether files we create in `dir` already get the owner canonical
 * metadata gives them (uid and gid ours), so no fchown is needed: true
 * unless we are root and the directory's group differs from ours and it
 * is setgid (its group would be inherited). One stat per directory, at
 * first use. Nix 2.8 itself only chowns when the uid differs.
 */
const ownerOk = new Map<string, boolean>();
export function newFilesOwnedRight(dir: string): boolean {
  let ok = ownerOk.get(dir);
  if (ok === undefined) {
    const st = statSync(dir);
    ok = !isRoot() || st.gid === ourGid() || (st.mode & 0o2000) === 0;
    ownerOk.set(dir, ok);
  }
  return ok;
}

/**
 * 0 or the errno of giving the O_TMPFILE inode `fd` the name `final`:
 * linkat(fd, "", AT_EMPTY_PATH) where we may (it needs CAP_DAC_READ_SEARCH,
 * and spares the kernel a walk through /proc), else through
 * /proc/self/fd/N.
 */
let emptyPathLink = true;
function linkTmpfile(fd: number, final: string): number {
  const c = loadLibc();
  if (emptyPathLink) {
    if (c.linkat(fd, '', AT_FDCWD, final, AT_EMPTY_PATH) === 0) return 0;
    const err = c.errno();
    if (err !== ENOENT && err !== EPERM) return err;
    emptyPathLink = false;
  }
  return c.linkat(AT_FDCWD, `/proc/self/fd/${fd}`, AT_FDCWD, final, AT_SYMLINK_FOLLOW) === 0 ? 0 : c.errno();
}

/** What `writeFileAtomic` did. */
export type AtomicWrite = 'written' | 'exists' | 'unsupported';

/**
 * Write a small regular file under its final name, atomically and with
 * canonical metadata: an unnamed `O_TMPFILE` inode in the store dir is
 * filled, given mode/mtime (and owner when needed) through its fd, and only
 * then linked in (linkat through /proc/self/fd). One directory operation
 * instead of create + rename, and a kill before the link leaves nothing
 * behind. When something is already under the final name, `replace`
 * says what to do: replace it, or (false) leave it and return 'exists'
 * so the caller can ask the database whether it is a valid path or a
 * leftover (then it calls again with `replace`). Returns 'unsupported'
 * when the kernel, the file system or a missing /proc rules this out; the
 * caller then writes under a temp name and renames.
 */
export function writeFileAtomic(final: string, data: Uint8Array, o: { fsync: boolean; executable: boolean; replace?: boolean }): AtomicWrite {
  if (tmpfileUnsupported) return 'unsupported';
  const dir = final.slice(0, final.lastIndexOf('/')) || '/';
  const mode = o.executable ? 0o555 : 0o444;
  let fd: number;
  try {
    fd = openSync(dir, O_TMPFILE_WRONLY, mode);
  } catch (e) {
    if (['EOPNOTSUPP', 'EISDIR', 'EINVAL', 'ENOTSUP'].includes((e as NodeJS.ErrnoException).code ?? '')) {
      tmpfileUnsupported = true;
      return 'unsupported';
    }
    throw e;
  }
  try {
    for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
    fchmodSync(fd, mode); // whatever the umask took away
    futimesSync(fd, 1, 1);
    if (!newFilesOwnedRight(dir)) fchownSync(fd, ourUid(), ourGid());
    if (o.fsync) fsyncSync(fd);
    for (let attempt = 0; ; attempt++) {
      const err = linkTmpfile(fd, final);
      if (err === 0) break;
      if (err === EEXIST && attempt === 0) {
        if (o.replace !== true) return 'exists';
        deletePath(final);
        continue;
      }
      if (err === ENOENT && attempt === 0 && !existsSync('/proc/self/fd')) {
        tmpfileUnsupported = true;
        return 'unsupported';
      }
      throw new NixError(CoreErrorCode.E_IO, `creating '${final}': errno ${err}`);
    }
  } finally {
    closeSync(fd);
  }
  if (o.fsync) fsyncDir(dir);
  return 'written';
}

/** Stream bytes into a new file while hashing them. */
export async function writeStreamHashed(path: string, source: AsyncIterable<Uint8Array>, algo: HashType): Promise<{ hash: Hash; size: number }> {
  const fd = openSync(path, 'wx', 0o644);
  const sink = new HashSink(algo);
  try {
    for await (const chunk of source) {
      sink.update(chunk);
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    }
  } finally {
    closeSync(fd);
  }
  return { hash: sink.finish(), size: sink.bytes };
}

/**
 * NAR hashes of a file-system object. Large objects go to the formats
 * team's worker-overlapped `hashPath`; small ones are hashed here with a
 * chunk buffer sized to them (a 1 MiB buffer per small add is pure GC load).
 */
export function narHashes(path: string, algos: readonly HashType[], sizeHint: number): { hashes: Hash[]; narSize: number } {
  if (sizeHint > 4 * 1024 * 1024 && algos.length === 1 && algos[0] === 'sha256') {
    const r = hashPath(path, 'sha256');
    return { hashes: [r.hash], narSize: r.narSize };
  }
  const chunk = Math.min(1 << 20, Math.max(4096, (sizeHint + 1024 + 4095) & ~4095));
  const hs = algos.map((a) => new HashSink(a));
  let narSize = 0;
  for (const c of dumpPathSync(path, chunk)) {
    for (const h of hs) h.update(c);
    narSize += c.length;
  }
  return { hashes: hs.map((h) => h.finish()), narSize };
}

/**
 * The contents of a small regular file whose size an lstat just gave:
 * open, read that many bytes, close (readFileSync would fstat it again).
 * As in Nix's `dumpPath`, the size is the one the stat gave (a file that
 * grew since is cut there); one that shrank is read whole the ordinary way.
 */
export function readSmallFile(path: string, size: number): Uint8Array {
  const fd = openSync(path, 'r');
  let n = 0;
  const buf = Buffer.allocUnsafe(size);
  try {
    for (let r = 1; n < size && r > 0; n += r) r = readSync(fd, buf, n, size - n, n);
  } finally {
    closeSync(fd);
  }
  return n === size ? buf : readFileSync(path);
}

/** NAR framing around a single regular file's contents (the NAR writer's bytes, precomputed). */
function narFrame(executable: boolean): { head: Uint8Array; tail: Uint8Array } {
  const empty = serialiseNar(regularFromBytes(new Uint8Array(0), executable));
  // The empty file's NAR is head + u64 0 + tail: split around the length field.
  const tailLen = 16; // str(")"): u64 1 + ")" padded to 8
  return { head: empty.subarray(0, empty.length - tailLen - 8), tail: empty.subarray(empty.length - tailLen) };
}
const FRAMES = [narFrame(false), narFrame(true)] as const;
const ZEROS = new Uint8Array(8);

/** Node's one-shot `crypto.hash` (20.12+): no Hash object per digest, which small adds feel. */
const oneShot = (nodeCrypto as { hash?: (algo: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

/** The digest of `data` (a Hash object only where Node lacks the one-shot form). */
export function digestOf(algo: HashType, data: Uint8Array): Hash {
  return new Hash(algo, oneShot !== undefined ? oneShot(algo, data, 'buffer') : nodeCrypto.createHash(algo).update(data).digest());
}

/** Up to this size, a single file's NAR is put together and hashed in one call. */
const ONE_SHOT_NAR = 64 * 1024;
/** Room for the largest one-shot NAR (the framing is under 200 bytes). */
const narScratch = Buffer.allocUnsafe(ONE_SHOT_NAR + 256);

/**
 * The NAR of a single regular file, hashed with `algos` without building it
 * (small adds do this for every file: no NAR buffer per add, except a
 * small one for the one-shot digest).
 */
export function hashRegularNar(contents: Uint8Array, executable: boolean, algos: readonly HashType[]): { hashes: Hash[]; narSize: number } {
  const { head, tail } = FRAMES[executable ? 1 : 0];
  const padLen = (8 - (contents.length % 8)) % 8;
  const narSize = head.length + 8 + contents.length + padLen + tail.length;
  if (contents.length <= ONE_SHOT_NAR && algos.length === 1) {
    // Put together in a reused scratch buffer (no allocation per add); only the padding needs zeroing.
    const nar = narScratch;
    nar.set(head, 0);
    nar.writeUInt32LE(contents.length, head.length); // ≤ 64 KiB: the high word stays 0
    nar.writeUInt32LE(0, head.length + 4);
    nar.set(contents, head.length + 8);
    nar.fill(0, head.length + 8 + contents.length, head.length + 8 + contents.length + padLen);
    nar.set(tail, narSize - tail.length);
    return { hashes: [digestOf(algos[0]!, nar.subarray(0, narSize))], narSize };
  }
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(contents.length), true);
  const pad = ZEROS.subarray(0, padLen);
  const hashes = algos.map((a) => {
    const h = new HashSink(a);
    for (const part of [head, len, contents, pad, tail]) h.update(part);
    return h.finish();
  });
  return { hashes, narSize };
}

/** NAR hash and size of a single regular file with these contents. */
export function narOfBytes(contents: Uint8Array, executable = false): { narHash: Hash; narSize: number } {
  const r = hashRegularNar(contents, executable, ['sha256']);
  return { narHash: r.hashes[0]!, narSize: r.narSize };
}

/** The content-address string for a fixed-output add. */
export function fixedCa(recursive: boolean, hash: Hash): string {
  return `fixed:${recursive ? 'r:' : ''}${hash.type}:${hash.base32}`;
}

export function textCa(hash: Hash): string {
  return `text:sha256:${hash.base32}`;
}

export function notFound(path: string): NixError {
  return new NixError(CoreErrorCode.E_IO, `getting status of '${path}': No such file or directory`);
}


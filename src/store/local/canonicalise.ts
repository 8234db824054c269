/**
 * Canonical metadata of store objects (libstore/local-store.cc
 * `canonicalisePathMetaData`) and the copy/fsync helpers used while adding.
 *
 * After canonicalising: regular files are 0444, or 0555 when the owner-execute
 * bit was set; directories 0555; setuid/setgid/sticky bits gone; mtime 1 for
 * everything (symlinks too, via lutimes); owner the current uid when root.
 */
import {
  chmodSync, closeSync, copyFileSync, fsyncSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync,
  readdirSync, readlinkSync, symlinkSync, constants as C,
} from 'node:fs';
import { join } from 'node:path';
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../../formats/index.js';

/**
 * Our uid/gid, read once at first use (each `process.getuid()` is a system
 * call), not at load: a startup snapshot loads this module in another process.
 */
let ids: { uid: number; gid: number } | undefined;
const ownIds = (): { uid: number; gid: number } =>
  (ids ??= { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
export const isRoot = (): boolean => typeof process.getuid === 'function' && ownIds().uid === 0;
export const ourUid = (): number => ownIds().uid;
export const ourGid = (): number => ownIds().gid;

/** Walk `path` (lstat; no symlink following) applying canonical metadata. */
export function canonicalisePathMetaData(path: string): void {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    for (const e of readdirSync(path)) canonicalisePathMetaData(join(path, e));
  }
  if (isRoot() && (st.uid !== ourUid() || st.gid !== ourGid())) {
    lchownSync(path, ourUid(), ourGid());
  }
  if (!st.isSymbolicLink()) {
    const mode = st.isDirectory() || (st.mode & C.S_IXUSR) !== 0 ? 0o555 : 0o444;
    if ((st.mode & 0o7777) !== mode) chmodSync(path, mode);
  }
  if (st.mtimeMs !== 1000) lutimesSync(path, 1, 1);
}

/**
 * Copy a file-system object as NAR would see it (lstat; only regular files,
 * dirs and symlinks; only the owner-x bit matters). Returns the count of
 * regular files copied. Errors name the source path.
 */
export function copyTree(src: string, dst: string): void {
  let st;
  try {
    st = lstatSync(src);
  } catch (e) {
    throw ioErr('getting status of', src, e);
  }
  if (st.isFile()) {
    copyFileSync(src, dst);
    chmodSync(dst, st.mode & C.S_IXUSR ? 0o755 : 0o644);
  } else if (st.isDirectory()) {
    mkdirSync(dst, 0o755);
    let names: string[];
    try {
      names = readdirSync(src);
    } catch (e) {
      throw ioErr('opening directory', src, e);
    }
    for (const n of names) copyTree(join(src, n), join(dst, n));
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
  } else {
    throw new NixError(FormatsErrorCode.E_NAR_INVALID, `file '${src}' has an unsupported type`);
  }
}

/** fsync every regular file and directory under `path`, children first. */
export function fsyncTree(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) for (const e of readdirSync(path)) fsyncTree(join(path, e));
  const fd = openSync(path, C.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync a directory so a rename inside it is durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, C.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function ioErr(what: string, p: string, e: unknown): NixError {
  const code = (e as NodeJS.ErrnoException).code;
  const text = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (e as Error).message;
  return new NixError('E0005', `${what} '${p}': ${text}`, { cause: e });
}

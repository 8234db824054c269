/**
 * BSD `flock(2)` on lock files, as Nix takes them (libutil/pathlocks.cc
 * `lockFile`): the one syscall wrapper the path locks (locks.ts) and the
 * temp-root appends (temp-root-append.ts) share.
 *
 * Node has no flock(2), so we call libc's through koffi (already used for
 * SO_PEERCRED), in-process: each lock is its own open file description, so
 * two locks of ours on one file conflict exactly as two of Nix's do, and the
 * kernel drops every lock when we die, even by SIGKILL. libuv opens files
 * with O_CLOEXEC, so builders never inherit a lock.
 */
import { constants as fsConstants, openSync, writeSync } from 'node:fs';
import { NixError } from '../core/index.js';
import { StoreErrorCode } from './errors.js';
import { EINTR, EWOULDBLOCK, loadLibc } from './libc.js';

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/**
 * One non-blocking flock attempt: true when taken, false when someone holds
 * a conflicting lock; other errors throw.
 */
export function flockNB(fd: number, op: number, what: string): boolean {
  const c = loadLibc();
  for (;;) {
    if (c.flock(fd, op | LOCK_NB) === 0) return true;
    const err = c.errno();
    if (err === EWOULDBLOCK) return false;
    if (err !== EINTR) throw new NixError(StoreErrorCode.E_LOCK, `acquiring/releasing lock '${what}': errno ${err}`);
  }
}

/** `a+`, as numbers (no flag string to parse per lock). */
export const LOCK_OPEN_FLAGS = fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_APPEND;

export function openLockFile(path: string): number {
  try {
    return openSync(path, LOCK_OPEN_FLAGS, 0o600);
  } catch (e) {
    throw new NixError(StoreErrorCode.E_LOCK, `opening lock file '${path}': ${(e as Error).message}`, { cause: e });
  }
}

/** Write all of `s` (UTF-8): the string itself first (no Buffer made), the rest after a short write. */
export function writeAll(fd: number, s: string): void {
  const n = writeSync(fd, s);
  if (n === s.length && !NON_ASCII.test(s)) return;
  const b = Buffer.from(s, 'utf8');
  for (let off = n; off < b.length;) off += writeSync(fd, b, off, b.length - off);
}
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Appends to this process's temproots file under a shared, non-blocking
 * lock on `gc.lock` (libstore/gc.cc `addTempRoot`); the `TempRoots` that
 * owns the file and falls back to the GC socket is gc/temp-roots.ts.
 */
import { closeSync } from 'node:fs';
import { NixError } from '../core/index.js';
import { StoreErrorCode } from './errors.js';
import { loadLibc } from './libc.js';
import { LOCK_SH, LOCK_UN, flockNB, openLockFile, writeAll } from './flock.js';
import { tryLockFileSync, type FileLock } from './locks.js';

/** gc.lock fds, one per path, opened once (shared attempts are taken and dropped per root). */
const gcLockFds = new Map<string, number>();
function gcLockFd(path: string): number {
  let fd = gcLockFds.get(path);
  if (fd === undefined) gcLockFds.set(path, (fd = openLockFile(path)));
  return fd;
}

/** Close the kept gc.lock fd of `path` (a store closing); the next temp root opens it again. */
export function closeGcLockFd(path: string): void {
  releaseGcLockHold(path);
  const fd = gcLockFds.get(path);
  if (fd === undefined) return;
  gcLockFds.delete(path);
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/**
 * Append a temp root to the temproots file held by `lock`, under a shared
 * non-blocking lock on `gcLockPath` (Nix `addTempRoot`). Returns false when
 * the GC holds gc.lock: the caller must then tell the GC over its socket.
 */
export async function appendTempRoot(lock: FileLock, gcLockPath: string, storePath: string): Promise<boolean> {
  return appendTempRootSync(lock, gcLockPath, storePath);
}

/** `appendTempRoot`, synchronously. */
export function appendTempRootSync(lock: FileLock, gcLockPath: string, storePath: string): boolean {
  return appendRootEntries(lock, gcLockPath, `${storePath}\0`);
}

/** `appendTempRootSync` for several paths: one lock attempt, one write. */
export function appendTempRootsSync(lock: FileLock, gcLockPath: string, storePaths: readonly string[]): boolean {
  return appendRootEntries(lock, gcLockPath, `${storePaths.join('\0')}\0`);
}

/**
 * A shared gc.lock kept after an append, for the appends that follow soon
 * (a daemon's adds come every few hundred µs): until its timer, at most
 * `GC_HOLD_MS` later, or after `GC_HOLD_MAX` appends. Holding it over
 * several appends keeps what holding it over each does (no collector starts
 * meanwhile, and a later one reads every entry from the file) for one lock
 * and one unlock instead of one each per add; a collector waits at most
 * that long more. Our own collector ends the hold first (`releaseGcLockHold`).
 */
const gcHolds = new Map<string, { timer: ReturnType<typeof setTimeout>; appends: number }>();
const GC_HOLD_MS = 2;
const GC_HOLD_MAX = 64;

/** Unlock a kept shared gc.lock of `path`, if any. */
export function releaseGcLockHold(path: string): void {
  const h = gcHolds.get(path);
  if (h === undefined) return;
  gcHolds.delete(path);
  clearTimeout(h.timer);
  const fd = gcLockFds.get(path);
  if (fd !== undefined) loadLibc().flock(fd, LOCK_UN);
}

/** Append NUL-terminated entries under a shared non-blocking gc.lock; false when the GC holds it. */
function appendRootEntries(lock: FileLock, gcLockPath: string, entries: string): boolean {
  let h = gcHolds.get(gcLockPath);
  if (h !== undefined && h.appends >= GC_HOLD_MAX) {
    releaseGcLockHold(gcLockPath);
    h = undefined;
  }
  if (h === undefined) {
    if (!flockNB(gcLockFd(gcLockPath), LOCK_SH, gcLockPath)) return false;
    gcHolds.set(gcLockPath, (h = { timer: setTimeout(releaseGcLockHold, GC_HOLD_MS, gcLockPath), appends: 0 }));
  }
  h.appends++;
  try {
    writeAll(lock.fd, entries);
  } catch (e) {
    throw new NixError(StoreErrorCode.E_LOCK, `writing temporary roots file '${lock.path}': ${(e as Error).message}`, { cause: e });
  }
  return true;
}

/**
 * Temp root plus a try at the path lock (the common case of an add).
 * Returns the held lock, `'rooted'` when the root was written but the lock
 * is taken (or stale), or `'busy'` when a collector runs (nothing done).
 */
export async function appendTempRootAndLock(
  temproots: FileLock, gcLockPath: string, storePath: string, lockPath: string,
): Promise<FileLock | 'rooted' | 'busy'> {
  return appendTempRootAndLockSync(temproots, gcLockPath, storePath, lockPath);
}

/** `appendTempRootAndLock`, synchronously. */
export function appendTempRootAndLockSync(
  temproots: FileLock, gcLockPath: string, storePath: string, lockPath: string,
): FileLock | 'rooted' | 'busy' {
  if (!appendTempRootSync(temproots, gcLockPath, storePath)) return 'busy';
  const l = tryLockFileSync(lockPath, 'write');
  if (l === undefined) return 'rooted';
  if (l.size !== 0) {
    l.releaseSync();
    return 'rooted';
  }
  return l;
}

/** Append a temp root without taking gc.lock (after the collector acknowledged it). */
export async function appendTempRootUnlocked(lock: FileLock, storePath: string): Promise<void> {
  try {
    writeAll(lock.fd, `${storePath}\0`);
  } catch (e) {
    throw new NixError(StoreErrorCode.E_LOCK, `writing temporary roots file '${lock.path}': ${(e as Error).message}`, { cause: e });
  }
}

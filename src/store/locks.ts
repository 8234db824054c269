/**
 * Lock files compatible with Nix's (libutil/pathlocks.cc,
 * libstore/pathlocks.cc): `<path>.lock`, `db/big-lock`, `gc.lock`,
 * `temproots/<pid>`, as flocks (flock.ts). Blocking waits are polled
 * non-blocking attempts, so the event loop never stalls.
 *
 * Path locks follow Nix's stale-lock protocol: after locking, a non-empty
 * file means its previous holder deleted it (and wrote `d`), so we retry.
 */
import { closeSync, linkSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { LOCK_EX, LOCK_SH, flockNB, openLockFile } from './flock.js';

export type LockType = 'read' | 'write';

/** What a deleted lock file says to whoever locks it next (Nix writes the same). */
const STALE = new Uint8Array([0x64]); // 'd'

const PROBE = new Uint8Array(1);

/** A held flock on its own open file. `release()` closes it, which unlocks. */
export class FileLock {
  private released = false;
  /** `size`: 0 when the file was empty once locked, else 1 (only emptiness is probed). */
  constructor(readonly path: string, readonly fd: number, readonly size: number) {}

  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    closeSync(this.fd);
  }

  async release(): Promise<void> {
    this.releaseSync();
  }

  /** Delete the file and mark it stale for waiters (`d`), then unlock (Nix `deleteLockFile`). */
  deleteAndReleaseSync(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
    try {
      writeSync(this.fd, STALE);
    } catch {
      /* best effort, as in Nix */
    }
    closeSync(this.fd);
  }

  /** `deleteAndReleaseSync` for a file whose names the caller has unlinked. */
  markStaleAndReleaseSync(): void {
    if (this.released) return;
    this.released = true;
    try {
      writeSync(this.fd, STALE);
    } catch {
      /* best effort, as in Nix */
    }
    closeSync(this.fd);
  }

  async deleteAndRelease(_lazy = false): Promise<void> {
    this.deleteAndReleaseSync();
  }
}

/** Try once; undefined when someone else holds a conflicting lock. */
export function tryLockFileSync(path: string, type: LockType): FileLock | undefined {
  const fd = openLockFile(path);
  let ok = false;
  try {
    ok = flockNB(fd, type === 'read' ? LOCK_SH : LOCK_EX, path);
    if (!ok) return undefined;
    // Only emptiness matters (a stale lock file holds 'd'): a 1-byte pread, no Stats object.
    return new FileLock(path, fd, readSync(fd, PROBE, 0, 1, 0));
  } finally {
    if (!ok) closeSync(fd);
  }
}

/** Try once; undefined when someone else holds a conflicting lock. */
export async function tryLockFile(path: string, type: LockType): Promise<FileLock | undefined> {
  return tryLockFileSync(path, type);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until the lock is ours (Nix `lockFile(fd, type, wait=true)`), polling. */
export async function lockFile(path: string, type: LockType, onWait?: () => void): Promise<FileLock> {
  let delay = 2;
  for (let first = true; ; first = false) {
    const l = tryLockFileSync(path, type);
    if (l !== undefined) return l;
    if (first) onWait?.();
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * Nix's `PathLocks`: exclusive locks on `<p>.lock` for each path, taken in
 * sorted order (so two lockers of overlapping sets cannot deadlock).
 */
export class PathLocks {
  private readonly held: FileLock[] = [];

  /** Wrap a lock already taken (see `appendTempRootAndLock`). */
  static of(held: FileLock): PathLocks {
    const pl = new PathLocks();
    pl.held.push(held);
    return pl;
  }

  /** The lock of one path if it is free right now (and not stale), else undefined. */
  static tryLockSync(path: string): PathLocks | undefined {
    const l = tryLockFileSync(`${path}.lock`, 'write');
    if (l === undefined) return undefined;
    if (l.size !== 0) {
      l.releaseSync();
      return undefined;
    }
    return PathLocks.of(l);
  }

  static async lock(paths: readonly string[], onWait?: (p: string) => void): Promise<PathLocks> {
    const pl = new PathLocks();
    try {
      for (const p of [...new Set(paths)].sort()) pl.held.push(await lockStale(`${p}.lock`, onWait ? () => onWait(p) : undefined));
    } catch (e) {
      pl.unlockSync();
      throw e;
    }
    return pl;
  }

  /** Delete the lock files, mark them stale for waiters, and unlock. */
  unlockSync(): void {
    for (const l of this.held.splice(0)) l.deleteAndReleaseSync();
  }

  async unlock(): Promise<void> {
    this.unlockSync();
  }
}

/**
 * Path locks for many paths on one lock file: the first path's `<p>.lock`
 * is locked the ordinary way, and every further `<p>.lock` is a hard link
 * to that same file, made only where no such name exists. Whoever opens any
 * of the names opens the file we hold a flock on, so each name is locked
 * exactly as a lock file of its own would be, to tix and to Nix alike; on
 * release every name is unlinked, then `d` is written and the file closed,
 * so a waiter on any name finds it stale and retries (Nix's protocol).
 *
 * Why: a lock file per path costs an inode made and freed per add, plus
 * open, flock, read, write and close; a link costs one directory entry.
 * On ext4 without a journal, freshly freed inodes also slow every later
 * inode allocation (`recently_deleted`); this frees one per group.
 */
export class PathLockGroup {
  private held: FileLock | undefined;
  private readonly names: string[] = [];

  get size(): number {
    return this.names.length;
  }

  /**
   * Lock `path` if that can be done now: true when held. False when its
   * lock file exists already (in use, or left by a killed process) or
   * cannot be linked: the caller then locks it the ordinary way (`PathLocks`).
   */
  tryAdd(path: string): boolean {
    const lockPath = `${path}.lock`;
    if (this.held === undefined) {
      const l = tryLockFileSync(lockPath, 'write');
      if (l === undefined) return false;
      if (l.size !== 0) {
        l.releaseSync();
        return false;
      }
      this.held = l;
    } else {
      try {
        linkSync(this.held.path, lockPath);
      } catch {
        // EEXIST mostly; anything else (EMLINK, …) is for the ordinary lock to meet or report.
        return false;
      }
    }
    this.names.push(lockPath);
    return true;
  }

  /** Whether `path`'s lock is one of this group's names. */
  has(path: string): boolean {
    return this.names.includes(`${path}.lock`);
  }

  /** Unlink every name, mark the file stale and unlock. */
  releaseSync(): void {
    const l = this.held;
    if (l === undefined) return;
    this.held = undefined;
    // The held file's own name goes last: `tryAdd` links to it until then.
    for (const n of this.names.splice(0).reverse()) {
      try {
        unlinkSync(n);
      } catch {
        /* already gone */
      }
    }
    l.markStaleAndReleaseSync();
  }
}

/**
 * A `PathLockGroup` spread over time, for path locks held only across
 * synchronous work (a small add's write and registration): each lock is a
 * link to the run's one lock file, and the names stay held until the run
 * ends, `windowMs` after its first lock (a timer) or at `maxNames` names,
 * whichever comes first; `releaseSync` ends it at once (a store closing).
 *
 * Why: the per-path sequence (open, flock, read, unlink, write `d`, close,
 * an inode made and freed) becomes one link on the add's path and, off it,
 * one unlink; the lock file's own open, flock, `d` and close are shared.
 * The exclusion is Nix's: a name is a held flock to every locker, and when
 * the run ends every name is unlinked before `d` is written, so a waiter on
 * any of them finds the file stale and retries. A waiter that came while the
 * path's add ran waits until the run ends (at most `windowMs` longer);
 * one that comes after the name is gone locks a file of its own.
 *
 * A caller must not await while it relies on a lock from `tryLockSync`: the
 * timer may end the run at the next turn of the event loop.
 */
export class PathLockRun {
  private group = new PathLockGroup();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly end = (): void => {
    this.timer = undefined;
    this.releaseSync();
  };

  constructor(private readonly windowMs = 2, private readonly maxNames = 64) {}

  /**
   * Lock `path` now (true) or not at all (false: its lock file exists, or
   * is busy; the caller locks it the ordinary way, after `releaseIfHeld`).
   */
  tryLockSync(path: string): boolean {
    if (this.group.size >= this.maxNames) this.releaseSync();
    if (!this.group.tryAdd(path)) return false;
    this.timer ??= setTimeout(this.end, this.windowMs);
    return true;
  }

  /** End the run if it holds `path` (so that an ordinary lock of it, in this process, need not wait). */
  releaseIfHeld(path: string): void {
    if (this.group.has(path)) this.releaseSync();
  }

  /** Unlink every name, mark the lock file stale and unlock. */
  releaseSync(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.group.releaseSync();
  }
}

/** Lock `<p>.lock`, retrying while we get a stale (non-empty) one. */
async function lockStale(lockPath: string, onWait?: () => void): Promise<FileLock> {
  for (;;) {
    const l = await lockFile(lockPath, 'write', onWait);
    if (l.size === 0) return l;
    l.releaseSync();
  }
}

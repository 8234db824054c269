/**
 * Throwaway directories for warm-ups (a pool child's trivial `nix-build`, the
 * daemon's add/query warm-up): each makes a store of its own there and removes
 * it afterwards. Names carry the owner's pid (`tix-warm-build-<pid>-…`), so a
 * dir left by a process killed meanwhile is removed by a later warm-up once
 * that process is gone.
 */
import { accessSync, constants as fsConstants, lstatSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../core/index.js';
import { deleteStorePathFs } from '../build/index.js';

const WARM_PREFIX = 'tix-warm-build-';

/**
 * /dev/shm when there is one, else the temp dir: on a disk each warm-up's
 * SQLite fsyncs and deletions would compete with the commands being run.
 */
export function warmUpBase(): string {
  try {
    accessSync('/dev/shm', fsConstants.W_OK | fsConstants.X_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** A new warm-up dir of this process under `baseDir` (`tag` tells whose, e.g. `daemon-`). */
export function makeWarmUpDir(baseDir: string, tag = ''): string {
  return mkdtempSync(join(baseDir, `${WARM_PREFIX}${process.pid}-${tag}`));
}

/**
 * Warm-up dirs of processes that no longer exist. Only real dirs of our own
 * uid: those were made by mkdtemp (0700), so nobody else can have put a
 * symlink inside for the chmods of `removeWarmUpDir` to follow.
 */
export function removeStaleWarmUps(baseDir: string): void {
  for (const e of readdirSync(baseDir)) {
    const m = e.startsWith(WARM_PREFIX) ? /^(\d+)-/.exec(e.slice(WARM_PREFIX.length)) : null;
    if (m === null || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    try {
      const st = lstatSync(join(baseDir, e));
      if (st.isDirectory() && st.uid === process.getuid?.()) removeWarmUpDir(join(baseDir, e));
    } catch {
      // being removed by someone else
    }
  }
}

/** Remove a warm-up tree (it holds read-only store paths); never throws: a warm-up is only an optimisation. */
export function removeWarmUpDir(dir: string): void {
  try {
    deleteStorePathFs(dir);
  } catch {
    // left for a later warm-up's removeStaleWarmUps
  }
}

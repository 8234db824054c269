/**
 * Chroot skeletons made ahead. A build's `<store>/<drv>.chroot` needs a few
 * directories (itself, the upper dir at `<drv>.chroot<store>`, the overlay's
 * work dir), and a `mkdir` on the store's file system costs 0.1–0.5 ms here.
 * So after a build one skeleton is made in the thread pool under
 * `<store>/.tix-sandbox/spare/`, and the next build (of any tix process using
 * the store) takes it with one `rename`. Skeletons hold nothing and belong to
 * no process; at most `MAX_SPARES` wait at a time.
 */
import { renameSync, readdirSync } from 'node:fs';
import { chmod, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

const MAX_SPARES = 2;
let seq = 0;
let making = false;

function spareDir(sharedDir: string): string {
  return join(sharedDir, 'spare');
}

/** Move a spare skeleton to `chrootDir`; false when there is none (make it by hand then). */
export function takeSpareChroot(sharedDir: string, chrootDir: string): boolean {
  const dir = spareDir(sharedDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  for (const n of names) {
    try {
      renameSync(join(dir, n), chrootDir);
      return true;
    } catch {
      /* another process took it: try the next */
    }
  }
  return false;
}

/** Make one skeleton for a later build of this store, off the build's path. */
export function makeSpareChroot(sharedDir: string, storeDir: string): void {
  if (making) return;
  const dir = spareDir(sharedDir);
  let count = 0;
  try {
    count = readdirSync(dir).length;
  } catch {
    /* first one: the dir is made below */
  }
  if (count >= MAX_SPARES) return;
  making = true;
  // Built in the trash dir, so the sweep removes it if this process dies meanwhile.
  const tmp = join(sharedDir, 'trash', `spare.${process.pid}.${++seq}`);
  const done = join(dir, `${process.pid}-${seq}`);
  void (async () => {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await mkdir(join(sharedDir, 'trash'), { recursive: true, mode: 0o700 });
      await mkdir(tmp, { mode: 0o750 });
      const upper = tmp + storeDir;
      await mkdir(upper, { recursive: true, mode: 0o755 });
      await chmod(upper, 0o1775); // builders create their outputs here; the sticky bit keeps them apart
      await mkdir(join(tmp, '.work'), { mode: 0o700 });
      await rename(tmp, done); // only complete skeletons are taken
    } catch {
      /* no spare this time (a half-made one in the trash goes with the trash) */
    } finally {
      making = false;
    }
  })();
}

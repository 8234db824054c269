/** A new store's directories and fixed files, created as Nix 2.8 creates them on first use. */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** Create the store dir and the state dir's fixed entries, as Nix does on first use. */
export function initDirs(storeDir: string, state: string): void {
  mkdirSync(storeDir, { recursive: true });
  // The optimiser's hard-link dir, created by Nix on first use too (GC skips it).
  mkdirSync(join(storeDir, '.links'), { recursive: true });
  for (const d of ['db', 'gcroots', 'profiles', 'temproots', 'gc-socket']) mkdirSync(join(state, d), { recursive: true });
  for (const f of [join(state, 'gc.lock'), join(state, 'db', 'big-lock')]) {
    if (!existsSync(f)) closeSync(openSync(f, 'a', 0o600));
  }
  const reserved = join(state, 'db', 'reserved');
  if (!existsSync(reserved)) {
    // Space kept back so GC can run on a full disk (Nix's reserved-size, 8 MiB).
    const tmp = `${reserved}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      ftruncateSync(fd, 8 * 1024 * 1024);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, reserved);
  }
}

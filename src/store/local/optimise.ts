/**
 * Store optimisation (libstore/optimise-store.cc, Nix 2.8): hard-link files
 * with identical contents through `<store>/.links/<base32 sha256 of the
 * file's NAR>`, and the GC's `removeUnusedLinks`.
 *
 * As in Nix: regular files and symlinks are linked (the NAR hash covers the
 * executable bit and a symlink's target, so only truly identical objects
 * share an inode); files already linked (their inode is in `.links`) are
 * skipped; a writable file is suspicious and skipped; the replacement is a
 * fresh link renamed over the file, so the file is never missing; a
 * directory made writable for that gets mode 0555 and mtime 1 back.
 */
import { type Stats, chmodSync, linkSync, lstatSync, lutimesSync, readdirSync, renameSync, unlinkSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { LocalStore } from './local-store.js';
import { narHashes } from './add-to-store.js';

export interface OptimiseStats {
  filesLinked: number;
  bytesFreed: number;
}

export interface OptimiseLog {
  warn(msg: string): void;
  info(msg: string): void;
}

/** Hard-link identical files of every valid path (Nix `optimiseStore`). */
export async function optimiseStore(store: LocalStore, log: OptimiseLog): Promise<OptimiseStats> {
  const linksDir = join(store.storeDir.dir, '.links');
  const inodes = loadInodeHash(linksDir);
  const stats: OptimiseStats = { filesLinked: 0, bytesFreed: 0 };
  for (const p of store.db.queryAllValidPaths()) {
    // A temp root first, so a concurrent GC cannot delete the path under us.
    await store.tempRoots.add(p);
    if (!store.db.isValid(p)) continue;
    optimisePath(store.storeDir.dir, linksDir, p, inodes, stats, log);
  }
  return stats;
}

function loadInodeHash(linksDir: string): Set<number> {
  const s = new Set<number>();
  try {
    for (const e of readdirSync(linksDir, { withFileTypes: true })) {
      try {
        s.add(lstatSync(join(linksDir, e.name)).ino);
      } catch {
        /* removed meanwhile */
      }
    }
  } catch {
    /* no links yet */
  }
  return s;
}

function optimisePath(storeDir: string, linksDir: string, path: string, inodes: Set<number>, stats: OptimiseStats, log: OptimiseLog): void {
  const st = lstatSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) optimisePath(storeDir, linksDir, join(path, name), inodes, stats, log);
    return;
  }
  if (!st.isFile() && !st.isSymbolicLink()) return;
  if (st.isFile() && (st.mode & 0o200) !== 0) {
    log.warn(`skipping suspicious writable file '${path}'`);
    return;
  }
  if (st.nlink > 1 && inodes.has(st.ino)) return; // already linked
  const hash = narHashes(path, ['sha256'], st.size).hashes[0]!;
  const linkPath = join(linksDir, hash.base32);
  let stLink = tryLstat(linkPath);
  if (stLink !== undefined && stLink.size !== st.size) {
    log.warn(`removing corrupted link '${linkPath}'`);
    unlinkSync(linkPath);
    stLink = undefined;
  }
  if (stLink === undefined) {
    try {
      linkSync(path, linkPath);
      inodes.add(st.ino);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') {
        log.info(`cannot link '${linkPath}' to '${path}': No space left on device`);
        return;
      }
      if (code !== 'EEXIST') throw e;
      // Another optimiser made it first: link to theirs.
    }
    stLink = lstatSync(linkPath);
  }
  if (stLink.ino === st.ino) return;
  replaceWithLink(storeDir, linkPath, path, st.size, stats, log);
}

/** Atomically replace `path` by a hard link to `linkPath`. */
function replaceWithLink(storeDir: string, linkPath: string, path: string, size: number, stats: OptimiseStats, log: OptimiseLog): void {
  const dir = dirname(path);
  const toggle = dir !== storeDir;
  if (toggle) chmodSync(dir, 0o755);
  try {
    const tempLink = join(storeDir, `.tmp-link-${process.pid}-${randomBytes(4).readUInt32LE(0)}`);
    try {
      linkSync(linkPath, tempLink);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EMLINK') {
        if (size > 0) log.info(`'${linkPath}' has maximum number of links`);
        return;
      }
      throw e;
    }
    try {
      renameSync(tempLink, path);
    } catch (e) {
      try {
        unlinkSync(tempLink);
      } catch {
        /* gone */
      }
      if ((e as NodeJS.ErrnoException).code === 'EMLINK') return;
      throw e;
    }
    stats.filesLinked++;
    stats.bytesFreed += size;
  } finally {
    if (toggle) {
      chmodSync(dir, 0o555);
      lutimesSync(dir, 1, 1);
    }
  }
}

function tryLstat(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * The GC's `removeUnusedLinks`: delete `.links` entries no store file uses
 * any more (link count 1). Returns the bytes they held and what hard
 * linking saves now (Nix's "note: currently hard linking saves …").
 */
export function removeUnusedLinks(storeDir: string): { bytesFreed: number; savedBytes: number } {
  const linksDir = join(storeDir, '.links');
  let actual = 0;
  let unshared = 0;
  let bytesFreed = 0;
  let names: string[];
  try {
    names = readdirSync(linksDir);
  } catch {
    return { bytesFreed: 0, savedBytes: 0 };
  }
  for (const name of names) {
    const p = join(linksDir, name);
    const st = tryLstat(p);
    if (st === undefined) continue;
    if (st.nlink !== 1) {
      actual += st.size;
      unshared += (st.nlink - 1) * st.size;
      continue;
    }
    unlinkSync(p);
    bytesFreed += st.size;
  }
  const overhead = statSync(linksDir).blocks * 512;
  return { bytesFreed, savedBytes: unshared - actual - overhead };
}

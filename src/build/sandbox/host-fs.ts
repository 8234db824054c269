/**
 * Host-side files of the sandbox: the per-store shared mount points and
 * default /etc (made once, safe against concurrent tix processes), and tree
 * helpers for the per-build dirs, which may hold read-only dirs (outputs,
 * mount points) and files owned by a build user.
 */
import { mkdirSync, chmodSync, lchownSync, rmSync, lstatSync, renameSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeEtc } from './chroot-files.js';

/** Proper ancestors of the given absolute paths (not `/`), parents first, without duplicates. */
export function ancestors(...paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const parts = p.split('/').filter((x) => x !== '');
    for (let i = 1; i < parts.length; i++) {
      const d = '/' + parts.slice(0, i).join('/');
      if (!out.includes(d)) out.push(d);
    }
  }
  return out;
}

/**
 * The per-store shared mount points and the default /etc, made when missing
 * (safe against concurrent tix processes). One stat when all is there; it is
 * not cached, as a garbage collection may have removed the dir meanwhile.
 */
export function ensureShared(dir: string): void {
  if (existsSync(join(dir, 'etc-default', 'hosts')) && existsSync(join(dir, 'store-ro'))) return;
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  for (const d of ['view', 'lower', 'store-ro']) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  const etc = join(dir, 'etc-default');
  if (!existsSync(join(etc, 'hosts'))) {
    const tmp = join(dir, `etc-tmp-${process.pid}-${Date.now()}`);
    writeEtc(tmp, '/build', false);
    try {
      renameSync(tmp, etc);
    } catch {
      rmTree(tmp); // another process won the race; its copy is identical
    }
  }
}

export function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Remove a tree that may hold read-only dirs (outputs, mount points); keep `keep` and its parents. */
export function rmTree(dir: string, keep: ReadonlySet<string> = new Set()): void {
  if (!lexists(dir)) return;
  if (keep.size === 0) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch {
      /* read-only dirs when not root: make writable, then retry */
    }
  }
  walkWritable(dir);
  if (keep.size === 0) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (keep.has(p)) continue;
    if ([...keep].some((k) => k.startsWith(p + '/'))) rmTree(p, keep);
    else rmSync(p, { recursive: true, force: true });
  }
}

function walkWritable(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  try {
    chmodSync(dir, (st.mode & 0o7777) | 0o700);
  } catch {
    /* not ours */
  }
  for (const e of readdirSync(dir)) walkWritable(join(dir, e));
}

export function chownTree(p: string, uid: number, gid: number): void {
  const st = lstatSync(p);
  if (st.isDirectory()) for (const e of readdirSync(p)) chownTree(join(p, e), uid, gid);
  lchownSync(p, uid, gid); // never follow a symlink the builder planted
}

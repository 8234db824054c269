/**
 * Leftovers of builds whose tix process died (SIGKILL, power loss): Nix 2.8
 * removes a stale `<drv>.chroot` only when the same derivation is built
 * again; tix also sweeps them on its next start, so a crash leaves nothing
 * behind for long.
 *
 * Every running sandbox has an owner record `<store>/.tix-sandbox/active/<id>`
 * holding `<pid> <start time>` of the tix process (the start time tells a
 * recycled pid apart). The record is written before the chroot dir is made
 * and removed after it is gone, so a chroot without a live owner is garbage.
 * The sweep runs once per process and store, before the first sandbox.
 */
import { readFileSync, readdirSync, writeFileSync, unlinkSync, mkdirSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { rmTree } from './host-fs.js';

const swept = new Set<string>();

/** This process's identity as written into owner records. */
let selfOwner: string | undefined;
function self(): string {
  selfOwner ??= `${process.pid} ${startTime(process.pid) ?? '?'}`;
  return selfOwner;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined if gone. */
function startTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function ownerAlive(record: string): boolean {
  const [pid, start] = record.trim().split(' ');
  if (!pid || !/^\d+$/.test(pid)) return false;
  const now = startTime(Number(pid));
  return now !== undefined && (start === '?' || now === start);
}

function activeDir(sharedDir: string): string {
  return join(sharedDir, 'active');
}

/** Record this process as the owner of the chroot of build `id`. */
export function claimChroot(sharedDir: string, id: string): void {
  const dir = activeDir(sharedDir);
  try {
    writeFileSync(join(dir, id), self() + '\n');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, id), self() + '\n');
  }
}

/** The chroot of build `id` is gone: drop its owner record. */
export function releaseChroot(sharedDir: string, id: string): void {
  try {
    unlinkSync(join(activeDir(sharedDir), id));
  } catch {
    /* already gone */
  }
}

function readRecord(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * Remove the chroots (and records) of builds whose owner is dead. Another
 * build of the same derivation could only start after the dead owner's
 * output lock was freed; it rewrites the record before touching the chroot,
 * and the record is read again right before deleting.
 */
export function sweepDeadChroots(storeDir: string, sharedDir: string): void {
  if (swept.has(storeDir)) return;
  swept.add(storeDir);
  sweepTrash(sharedDir);
  const dir = activeDir(sharedDir);
  let ids: string[];
  try {
    ids = readdirSync(dir);
  } catch {
    return;
  }
  for (const id of ids) {
    const rec = join(dir, id);
    const before = readRecord(rec);
    if (before === undefined || ownerAlive(before)) continue;
    if (readRecord(rec) !== before) continue;
    try {
      rmTree(join(storeDir, `${id}.chroot`));
      releaseChroot(sharedDir, id);
    } catch {
      /* not ours to remove (another user's store?): leave it */
    }
  }
}

/** Trash dirs being deleted in the background; deleted synchronously if still there at exit. */
const pendingTrash = new Set<string>();
let trashSeq = 0;

/**
 * Remove a finished build's chroot off the build's path: one rename into
 * `<shared>/trash/` (a directory on disk costs about 1 ms to delete here),
 * then deletion in the thread pool. A rebuild of the same derivation never
 * meets it, and what is left at exit (or after a crash: the sweep) goes then.
 */
export function discardChroot(sharedDir: string, chrootDir: string): void {
  const trash = join(sharedDir, 'trash');
  const dst = join(trash, `${basename(chrootDir)}.${process.pid}.${++trashSeq}`);
  try {
    try {
      renameSync(chrootDir, dst);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(trash, { recursive: true, mode: 0o700 });
      renameSync(chrootDir, dst);
    }
  } catch {
    rmTree(chrootDir); // no trash dir to use: delete in place
    return;
  }
  ensureExitHook();
  pendingTrash.add(dst);
  rm(dst, { recursive: true, force: true })
    .catch(() => rmTree(dst)) // read-only dirs when not root
    .catch(() => undefined)
    .finally(() => pendingTrash.delete(dst));
}

/** Chroots still holding outputs the builder reads (`--check` of an existing path), removed when tix exits. */
const atExit = new Map<string, { sharedDir: string; id: string }>();
let exitHook = false;

function ensureExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const [dir, r] of atExit) {
      try {
        rmTree(dir);
        releaseChroot(r.sharedDir, r.id);
      } catch {
        /* the next start's sweep takes it */
      }
    }
    for (const dir of pendingTrash) {
      try {
        rmTree(dir);
      } catch {
        /* the next start's sweep takes it */
      }
    }
  });
}

export function removeAtExit(sharedDir: string, id: string, chrootDir: string): void {
  ensureExitHook();
  atExit.set(chrootDir, { sharedDir, id });
}

/** A new build of the same derivation owns `chrootDir` now: do not remove it at exit. */
export function cancelRemoveAtExit(chrootDir: string): void {
  atExit.delete(chrootDir);
}

/** Trash entries (`<name>.<pid>.<n>`) of processes that are gone. */
function sweepTrash(sharedDir: string): void {
  const trash = join(sharedDir, 'trash');
  let names: string[];
  try {
    names = readdirSync(trash);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split('.').slice(-2)[0]);
    if (Number.isInteger(pid) && pid > 0 && startTime(pid) !== undefined) continue;
    try {
      rmTree(join(trash, n));
    } catch {
      /* not ours */
    }
  }
}

/** Test hook: forget which stores were swept. */
export function resetSweep(): void {
  swept.clear();
}

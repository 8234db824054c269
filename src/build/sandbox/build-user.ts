/**
 * Build users (Nix 2.8 `UserLock`, `acquireUserLock`): when tix runs as root
 * and `build-users-group` names a group, each build runs as one of the group's
 * members, locked for the build's lifetime through `<state>/userpool/<uid>`.
 *
 * Nix holds an fcntl lock on that file; Node has none, so the file is created
 * exclusively and holds the owner's pid, and a lock whose pid is gone is taken
 * over. Non-root tix never uses build users (as in 2.8).
 */
import { mkdirSync, openSync, closeSync, writeSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NixError, pidAlive } from '../../core/index.js';
import { SandboxErrorCode } from './errors.js';

export interface BuildUser {
  name: string;
  uid: number;
  gid: number;
  release(): void;
}

interface GroupEntry {
  gid: number;
  members: string[];
}

function readGroup(name: string, groupFile: string): GroupEntry | undefined {
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      return { gid: Number(f[2]), members: f[3]!.split(',').filter((m) => m !== '') };
    }
  }
  return undefined;
}

function readUids(passwdFile: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(passwdFile, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3) m.set(f[0]!, Number(f[2]));
  }
  return m;
}

function tryLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        /* vanished meanwhile: retry */
      }
      if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) return false;
      try {
        unlinkSync(file); // stale: its owner died without releasing it
      } catch {
        /* someone else cleaned it up */
      }
    }
  }
  return false;
}

export interface BuildUserOptions {
  group: string;
  stateDir: string;
  groupFile?: string;
  passwdFile?: string;
  /** Give up after this long (default: wait as long as it takes, as Nix does). */
  timeoutMs?: number;
}

export async function acquireBuildUser(opts: BuildUserOptions): Promise<BuildUser> {
  const group = readGroup(opts.group, opts.groupFile ?? '/etc/group');
  if (!group) {
    throw new NixError(SandboxErrorCode.E_SANDBOX_SETTING, `the group '${opts.group}' specified in 'build-users-group' does not exist`);
  }
  if (group.members.length === 0) {
    throw new NixError(SandboxErrorCode.E_SANDBOX_SETTING, `the build users group '${opts.group}' has no members`);
  }
  const uids = readUids(opts.passwdFile ?? '/etc/passwd');
  const pool = join(opts.stateDir, 'userpool');
  mkdirSync(pool, { recursive: true });
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  for (;;) {
    for (const name of group.members) {
      const uid = uids.get(name);
      if (uid === undefined) {
        throw new NixError(SandboxErrorCode.E_SANDBOX_SETTING, `the user '${name}' in the group '${opts.group}' does not exist`);
      }
      if (uid === 0) continue;
      const file = join(pool, String(uid));
      if (tryLock(file)) {
        let released = false;
        return {
          name,
          uid,
          gid: group.gid,
          release() {
            if (released) return;
            released = true;
            try {
              unlinkSync(file);
            } catch {
              /* already gone */
            }
          },
        };
      }
    }
    if (Date.now() > deadline) {
      throw new NixError(SandboxErrorCode.E_NO_BUILD_USER, `all build users in group '${opts.group}' are currently in use`);
    }
    await sleep(100);
  }
}

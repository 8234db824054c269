/**
 * Temporary GC roots (libstore/gc.cc `addTempRoot`, `findTempRoots`).
 *
 * Each process that adds paths owns `<state>/temproots/<pid>`, holding a
 * shared flock on it for its whole life; entries are full store paths, each
 * followed by NUL, only ever appended. Appends happen under a shared lock on
 * `gc.lock`; when that fails the collector is running, and the path is sent
 * to it over `<state>/gc-socket/socket`, which answers `1` once it will keep
 * the path. A temproots file the GC can lock exclusively belongs to a dead
 * process: it is deleted.
 */
import { createConnection } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NixError } from '../../core/index.js';
import { StoreErrorCode } from '../errors.js';
import { lockFile, PathLocks, tryLockFile, type FileLock } from '../locks.js';
import { appendTempRoot, appendTempRootAndLock, appendTempRootAndLockSync, appendTempRootSync, appendTempRootsSync, appendTempRootUnlocked } from '../temp-root-append.js';

export function gcLockPath(stateDir: string): string {
  return join(stateDir, 'gc.lock');
}
export function gcSocketPath(stateDir: string): string {
  return join(stateDir, 'gc-socket', 'socket');
}

export class TempRoots {
  private file: FileLock | undefined;
  private opening: Promise<FileLock> | undefined;
  private readonly added = new Set<string>();
  private bigLock: FileLock | undefined;

  /** `<state>/gc.lock`, joined once (every add uses it). */
  private readonly gcLock: string;

  constructor(private readonly stateDir: string) {
    this.gcLock = gcLockPath(stateDir);
  }

  private async open(): Promise<FileLock> {
    if (this.file !== undefined) return this.file;
    this.opening ??= (async () => {
      // A writer holds the big lock shared, as Nix does for its whole life
      // (exclusive only while a Nix migrates the schema).
      const path = join(this.stateDir, 'temproots', String(process.pid));
      // Both first attempts in one round trip (the helper answers in order).
      const [big, first] = await Promise.all([tryLockFile(join(this.stateDir, 'db', 'big-lock'), 'read'), tryLockFile(path, 'read')]);
      this.bigLock = big ?? (await lockFile(join(this.stateDir, 'db', 'big-lock'), 'read'));
      for (let pre = first; ; pre = undefined) {
        const l = pre ?? (await lockFile(path, 'read'));
        // A non-empty file was deleted by a GC that thought its owner dead (a
        // previous process with our pid): start again with a fresh one.
        if (l.size === 0) return l;
        await l.deleteAndRelease();
      }
    })();
    this.file = await this.opening;
    return this.file;
  }

  /** Keep `printed` (a full store path) alive for the rest of this process. */
  async add(printed: string): Promise<void> {
    if (this.tryAddSync(printed)) return;
    const f = await this.open();
    for (;;) {
      if (await appendTempRoot(f, this.gcLock, printed)) break;
      if (await tellCollector(gcSocketPath(this.stateDir), printed)) {
        // Later collections read the file, so the root goes there too (as Nix does).
        await appendTempRootUnlocked(f, printed);
        break;
      }
      // The collector went away between our lock attempt and connect: retry.
      await new Promise((r) => setTimeout(r, 5));
    }
    this.added.add(printed);
  }

  /**
   * `add` then an exclusive path lock on `<printed>.lock`, in one round trip
   * when possible (else the two steps separately).
   */
  async addAndLock(printed: string): Promise<PathLocks> {
    const fast = this.tryAddAndLockSync(printed);
    if (fast !== undefined) return fast;
    if (!this.added.has(printed)) {
      const f = await this.open();
      const r = await appendTempRootAndLock(f, this.gcLock, printed, `${printed}.lock`);
      if (r !== 'busy') {
        this.added.add(printed);
        if (r !== 'rooted') return PathLocks.of(r);
      }
    }
    await this.add(printed);
    return PathLocks.lock([printed]);
  }

  /** `add` without a turn of the event loop (rooted before, or our file open and no collector running); false when not done. */
  tryAddSync(printed: string): boolean {
    if (this.added.has(printed)) return true;
    const f = this.file;
    if (f === undefined || !appendTempRootSync(f, this.gcLock, printed)) return false;
    this.added.add(printed);
    return true;
  }

  /**
   * `add` for several paths with one append and one gc.lock attempt
   * (a batch of adds roots its paths before looking at them). False when
   * not done (our file is not open yet, or a collector runs): the caller
   * then roots each path the ordinary way.
   */
  tryAddManySync(printed: readonly string[]): boolean {
    const f = this.file;
    if (f === undefined) return false;
    const fresh = printed.filter((p) => !this.added.has(p));
    if (fresh.length === 0) return true;
    if (!appendTempRootsSync(f, this.gcLock, fresh)) return false;
    for (const p of fresh) this.added.add(p);
    return true;
  }

  /** Whether this process has rooted `printed` already. */
  has(printed: string): boolean {
    return this.added.has(printed);
  }

  /** Open our temproots file now (the first root otherwise does), so that `tryAddManySync` can work. */
  async ready(): Promise<void> {
    await this.open();
  }

  /**
   * `addAndLock` without a turn of the event loop, for the common case:
   * our file is open, no collector runs and nobody holds the path lock.
   * Undefined when that is not so (nothing done, or only the root
   * written): the caller then goes the async way.
   */
  tryAddAndLockSync(printed: string): PathLocks | undefined {
    const f = this.file;
    if (f === undefined || this.added.has(printed)) return undefined;
    const r = appendTempRootAndLockSync(f, this.gcLock, printed, `${printed}.lock`);
    if (r === 'busy') return undefined;
    this.added.add(printed);
    return r === 'rooted' ? undefined : PathLocks.of(r);
  }

  /** Drop our file (normal exit); a killed process leaves it for the GC to find stale. */
  async close(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    this.opening = undefined;
    if (f !== undefined) await f.deleteAndRelease();
    await this.bigLock?.release();
    this.bigLock = undefined;
  }
}

/** Send one path to a running collector; false when nobody listens. */
function tellCollector(socketPath: string, printed: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let answered = false;
    sock.on('connect', () => sock.write(printed + '\n'));
    sock.on('data', (d) => {
      answered = true;
      sock.destroy();
      if (d[0] === 0x31) resolve(true);
      else reject(new NixError(StoreErrorCode.E_LOCK, `garbage collector gave an unexpected answer about '${printed}'`));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // Refused/gone/reset: the collector is exiting; the caller retries (as Nix does).
      if (['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE'].includes(e.code ?? '')) resolve(false);
      else reject(new NixError(StoreErrorCode.E_LOCK, `connecting to the garbage collector: ${e.message}`));
    });
    sock.on('close', () => {
      if (!answered) resolve(false);
    });
  });
}

/**
 * Read every live temproots file (GC side; the caller holds gc.lock
 * exclusively). Stale files, whose owner is dead, are removed.
 */
export async function findTempRoots(stateDir: string, censor: boolean): Promise<Map<string, Set<string>>> {
  const dir = join(stateDir, 'temproots');
  const roots = new Map<string, Set<string>>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return roots;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name !== String(process.pid)) {
      const l = await tryLockFile(path, 'write');
      if (l !== undefined) {
        await l.deleteAndRelease();
        continue;
      }
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    for (const p of text.split('\0')) {
      if (p === '') continue;
      let s = roots.get(p);
      if (s === undefined) roots.set(p, (s = new Set()));
      s.add(censor ? '{censored}' : `{temp:${name}}`);
    }
  }
  return roots;
}

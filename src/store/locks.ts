/**
 * BSD `flock` locks compatible with Nix's lock files (libutil/pathlocks.cc,
 * libstore/pathlocks.cc): `<path>.lock`, `db/big-lock`, `gc.lock`,
 * `temproots/<pid>`.
 *
 * Node has no flock(2). We run one small helper process per tix process
 * (`perl`, part of every Debian base system) that opens the lock files and
 * holds the flocks for us; it reads requests on its stdin, so when tix dies,
 * even by SIGKILL, the helper sees EOF, exits, and the kernel drops every lock
 * — exactly what happens to a Nix process's locks. Blocking waits are polled
 * try-locks, so one waiter never stalls the helper for the others.
 *
 * Path locks follow Nix's stale-lock protocol: after locking, a non-empty file
 * means its previous holder deleted it (and wrote `d`), so we retry.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { NixError } from '../core/index.js';
import { StoreErrorCode } from './errors.js';

const HELPER = String.raw`
use strict; use Fcntl qw(:flock O_RDWR O_CREAT);
$| = 1; my %fh;
while (my $l = <STDIN>) {
  chomp $l; my ($rq, $id, $op, $path) = split / /, $l, 4;
  if ($op eq 'sh' || $op eq 'ex') {
    my $f;
    unless (sysopen($f, $path, O_RDWR | O_CREAT, 0600)) { print "$rq err $!\n"; next; }
    if (flock($f, ($op eq 'sh' ? LOCK_SH : LOCK_EX) | LOCK_NB)) { $fh{$id} = $f; print "$rq ok " . ((stat($f))[7]) . "\n"; }
    else { close($f); print "$rq busy\n"; }
  } elsif ($op eq 'un') {
    my $f = delete $fh{$id}; close($f) if $f; print "$rq ok\n";
  } elsif ($op eq 'rm') {
    my $f = delete $fh{$id}; unlink($path); if ($f) { syswrite($f, 'd'); close($f); } print "$rq ok\n";
  } elsif ($op eq 'tr') {
    # Temp root: under a shared, non-blocking gc.lock, append "<path>\0" to our temproots fd.
    my ($gc, $sp) = split /\t/, $path, 2; my $g = $fh{"gc:$gc"};
    unless ($g) { unless (sysopen($g, $gc, O_RDWR | O_CREAT, 0600)) { print "$rq err $!\n"; next; } $fh{"gc:$gc"} = $g; }
    if (flock($g, LOCK_SH | LOCK_NB)) {
      my $ok = syswrite($fh{$id}, "$sp\0"); flock($g, LOCK_UN);
      print defined($ok) ? "$rq ok\n" : "$rq err $!\n";
    } else { print "$rq busy\n"; }
  } elsif ($op eq 'trl') {
    # Temp root (as 'tr'), then try an exclusive lock on a path lock file: one round trip per add.
    my ($tid, $lid) = split /,/, $id; my ($gc, $sp, $lp) = split /\t/, $path, 3; my $g = $fh{"gc:$gc"};
    unless ($g) { unless (sysopen($g, $gc, O_RDWR | O_CREAT, 0600)) { print "$rq err $!\n"; next; } $fh{"gc:$gc"} = $g; }
    unless (flock($g, LOCK_SH | LOCK_NB)) { print "$rq busy\n"; next; }
    my $ok = syswrite($fh{$tid}, "$sp\0"); flock($g, LOCK_UN);
    unless (defined $ok) { print "$rq err $!\n"; next; }
    my $f;
    unless (sysopen($f, $lp, O_RDWR | O_CREAT, 0600)) { print "$rq err $!\n"; next; }
    if (flock($f, LOCK_EX | LOCK_NB)) { $fh{$lid} = $f; print "$rq ok " . ((stat($f))[7]) . "\n"; }
    else { close($f); print "$rq rooted\n"; }
  } elsif ($op eq 'ap') {
    my $ok = syswrite($fh{$id}, "$path\0");
    print defined($ok) ? "$rq ok\n" : "$rq err $!\n";
  } else { print "$rq err bad op\n"; }
}
`;

type Reply = { ok: boolean; busy: boolean; rooted: boolean; size: number; err?: string };

/** The per-process flock helper. Started on first use. */
class LockHelper {
  private proc: ChildProcessWithoutNullStreams | undefined;
  private nextId = 1;
  private nextReq = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private buf = '';

  private start(): ChildProcessWithoutNullStreams {
    if (this.proc !== undefined) return this.proc;
    const p = spawn('perl', ['-e', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => this.onData(d));
    p.on('error', (e) => this.failAll(`cannot start the lock helper: ${e.message}`));
    p.on('exit', () => this.failAll('the lock helper exited'));
    // The helper must not keep the event loop alive by itself.
    p.unref();
    (p.stdout as unknown as { unref?: () => void }).unref?.();
    (p.stdin as unknown as { unref?: () => void }).unref?.();
    (p.stderr as unknown as { unref?: () => void }).unref?.();
    this.proc = p;
    return p;
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const [idS, status, ...rest] = line.split(' ');
      const cb = this.waiting.get(Number(idS));
      if (cb === undefined) continue;
      this.waiting.delete(Number(idS));
      cb({
        ok: status === 'ok', busy: status === 'busy', rooted: status === 'rooted', size: Number(rest[0] ?? 0),
        err: status === 'err' ? rest.join(' ') : undefined,
      });
    }
  }

  private failAll(msg: string): void {
    this.proc = undefined;
    for (const cb of this.waiting.values()) cb({ ok: false, busy: false, rooted: false, size: 0, err: msg });
    this.waiting.clear();
  }

  newId(): number {
    return this.nextId++;
  }

  /**
   * Send a request. `lazy` ones (unlocks) are held back and sent with the
   * next request, or after a moment: one pipe write per add instead of
   * several. The helper still handles everything in order.
   */
  request(id: number | string, op: Op, path = '', lazy = false): Promise<Reply> {
    const p = this.start();
    const rq = this.nextReq++;
    return new Promise<Reply>((resolve) => {
      this.waiting.set(rq, resolve);
      const line = `${rq} ${id} ${op} ${path}\n`;
      if (lazy) {
        this.pending += line;
        this.flushTimer ??= setTimeout(() => this.flush(), 2);
        this.flushTimer.unref();
        return;
      }
      // Keep the process alive while we wait for an answer.
      p.ref();
      const out = this.pending + line;
      this.pending = '';
      p.stdin.write(out, () => undefined);
    }).finally(() => {
      if (this.waiting.size === 0) p.unref();
    });
  }

  private pending = '';
  private flushTimer: NodeJS.Timeout | undefined;

  /** Send held-back requests now. */
  flush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending === '' || this.proc === undefined) return;
    this.proc.stdin.write(this.pending, () => undefined);
    this.pending = '';
  }
}

type Op = 'sh' | 'ex' | 'un' | 'rm' | 'tr' | 'trl' | 'ap';

const helper = new LockHelper();

/** Send any held-back unlocks now (before exiting). */
export function flushLocks(): void {
  helper.flush();
}

export type LockType = 'read' | 'write';

/**
 * Append a temp root to the temproots file held by `lock`, under a shared
 * non-blocking lock on `gcLockPath` (Nix `addTempRoot`). Returns false when
 * the GC holds gc.lock: the caller must then tell the GC over its socket.
 */
export async function appendTempRoot(lock: FileLock, gcLockPath: string, storePath: string): Promise<boolean> {
  const r = await helper.request(lock.id, 'tr', `${gcLockPath}\t${storePath}`);
  if (r.err !== undefined) throw new NixError(StoreErrorCode.E_LOCK, `writing temporary roots file '${lock.path}': ${r.err}`);
  return r.ok;
}

/**
 * Temp root plus path lock in one round trip (the common case of an add).
 * Returns the held lock, `'rooted'` when the root was written but the lock
 * is taken (or stale), or `'busy'` when a collector runs (nothing done).
 */
export async function appendTempRootAndLock(
  temproots: FileLock, gcLockPath: string, storePath: string, lockPath: string,
): Promise<FileLock | 'rooted' | 'busy'> {
  const id = helper.newId();
  const r = await helper.request(`${temproots.id},${id}`, 'trl', `${gcLockPath}\t${storePath}\t${lockPath}`);
  if (r.err !== undefined) throw new NixError(StoreErrorCode.E_LOCK, `locking '${lockPath}': ${r.err}`);
  if (r.busy) return 'busy';
  if (r.rooted) return 'rooted';
  const l = new FileLock(lockPath, id, r.size);
  if (l.size !== 0) {
    await l.release();
    return 'rooted';
  }
  return l;
}

/** Append a temp root without taking gc.lock (after the collector acknowledged it). */
export async function appendTempRootUnlocked(lock: FileLock, storePath: string): Promise<void> {
  const r = await helper.request(lock.id, 'ap', storePath);
  if (r.err !== undefined) throw new NixError(StoreErrorCode.E_LOCK, `writing temporary roots file '${lock.path}': ${r.err}`);
}

/** A held flock. `release()` unlocks (and closes the helper's fd). */
export class FileLock {
  private released = false;
  constructor(readonly path: string, readonly id: number, readonly size: number) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await helper.request(this.id, 'un');
  }

  /** Delete the file and mark it stale for waiters (`d`), then unlock. */
  async deleteAndRelease(lazy = false): Promise<void> {
    if (this.released) return;
    this.released = true;
    await helper.request(this.id, 'rm', this.path, lazy);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Try once; undefined when someone else holds a conflicting lock. */
export async function tryLockFile(path: string, type: LockType): Promise<FileLock | undefined> {
  const id = helper.newId();
  const r = await helper.request(id, type === 'read' ? 'sh' : 'ex', path);
  if (r.err !== undefined) throw new NixError(StoreErrorCode.E_LOCK, `opening lock file '${path}': ${r.err}`);
  return r.ok ? new FileLock(path, id, r.size) : undefined;
}

/** Wait until the lock is ours (Nix `lockFile(fd, type, wait=true)`). */
export async function lockFile(path: string, type: LockType, onWait?: () => void): Promise<FileLock> {
  let delay = 2;
  for (let first = true; ; first = false) {
    const l = await tryLockFile(path, type);
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

  static async lock(paths: readonly string[], onWait?: (p: string) => void): Promise<PathLocks> {
    const pl = new PathLocks();
    try {
      for (const p of [...new Set(paths)].sort()) pl.held.push(await lockStale(`${p}.lock`, onWait ? () => onWait(p) : undefined));
    } catch (e) {
      await pl.unlock();
      throw e;
    }
    return pl;
  }

  /**
   * Delete the lock files, mark them stale for waiters, and unlock. The
   * helper handles requests in order, so we need not wait for the answer:
   * any later lock request of ours is processed after this one.
   */
  async unlock(): Promise<void> {
    for (const l of this.held.splice(0)) void l.deleteAndRelease(true);
  }
}

/** Lock `<p>.lock`, retrying while we get a stale (non-empty) one. */
async function lockStale(lockPath: string, onWait?: () => void): Promise<FileLock> {
  for (;;) {
    const l = await lockFile(lockPath, 'write', onWait);
    if (l.size === 0) return l;
    await l.release();
  }
}

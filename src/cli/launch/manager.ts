/**
 * The launcher pool's manager (nailgun/gradle-daemon style): owns
 * `<dir>/<id>.sock` and keeps a few warm children blocked on it. A child
 * taken for a single-use job ('T') is replaced at once; one taken for a job
 * it may survive ('U', child.ts) is lent: it counts as coming back for
 * LENT_MS, so a loop of short commands starts no processes, and says 'W'
 * when it is idle again (or exits, and is replaced then).
 *
 * One manager per build id: it holds an flock on `<dir>/<id>.lock` for its
 * lifetime. The pool starts at 2 idle children (TIX_SERVER_MIN_IDLE), grows
 * by one (up to nproc + 1) whenever a job finds none idle, and shrinks back
 * one step per SHRINK_MS without that. A warm child holds about 24 MB
 * (PSS, started from the snapshot). The manager exits, removing its socket, after
 * TIX_SERVER_IDLE seconds (default 120) without a job, when the bundle it
 * serves changes, when its socket is removed or replaced, or when children
 * keep dying before they are warm (then `<id>.broken` stops bin/tix from
 * starting another for this build). Idle children die with it (PDEATHSIG);
 * running jobs do not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { closeSync, openSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { usableBlob } from './snapshot-blob.js';
import * as sys from './syscalls.js';

/** Idle children kept; TIX_SERVER_MIN_IDLE (1-8) overrides it, for measuring the policy (bench/launcher.ts). */
const MIN_IDLE_DEFAULT = 2;
const SHRINK_MS = 10_000;
const TICK_MS = 1000;
/**
 * Jobs this close together mean a burst (a script's loop, a recursive build's
 * inner commands): a child started then skips the build warm-up
 * (warm-up.ts), which doubles its start-up CPU; on a small machine that CPU
 * is taken from the very commands it would serve, and most commands of a
 * burst are clients of a daemon that never build locally. A command after a
 * pause still finds a child with the build path warm.
 */
const BURST_MS = 250;
/** Children that die before they are warm, in a row, before the manager gives up. */
const MAX_EARLY_DEATHS = 5;

/** How long a lent child counts toward the idle target (a longer job gets a replacement). */
const LENT_MS = 300;

type State = 'starting' | 'idle' | 'busy' | 'lent' | 'retired';

interface ManagerOptions {
  dir: string;
  id: string;
  /** The bundle entry this pool serves; a change of its identity ends the manager. */
  bundleMain: string;
}

function identity(path: string): string {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
  } catch {
    return 'missing';
  }
}

export class PoolManager {
  private readonly children = new Map<ChildProcess, State>();
  private readonly sock: string;
  private readonly lockPath: string;
  private readonly logPath: string;
  private readonly idleMs: number;
  private readonly minIdle: number;
  private readonly max: number;
  private target: number;
  private lastJob = Date.now();
  /** When the last two jobs were taken (0: not yet). */
  private lastTake = 0;
  private previousTake = 0;
  private lastExhausted = 0;
  private earlyDeaths = 0;
  private listenFd = -1;
  private sockIdentity = '';
  private bundleIdentity: string;
  private timer: NodeJS.Timeout | undefined;
  private logFd = 2;
  private busy: boolean | undefined;
  private readonly busyPath: string;
  /** The startup snapshot children start from (snapshot-entry.ts), until one dies before it is warm. */
  private blob: string | undefined;
  private readonly fromBlob = new WeakSet<ChildProcess>();
  private readonly started = new WeakMap<ChildProcess, number>();
  private readonly burstChildren = new WeakSet<ChildProcess>();
  private readonly lentAt = new WeakMap<ChildProcess, number>();

  constructor(private readonly opts: ManagerOptions) {
    this.sock = `${opts.dir}/${opts.id}.sock`;
    this.lockPath = `${opts.dir}/${opts.id}.lock`;
    this.logPath = `${opts.dir}/${opts.id}.log`;
    this.busyPath = `${opts.dir}/${opts.id}.busy`;
    const idle = Number(process.env.TIX_SERVER_IDLE ?? '120');
    this.idleMs = (Number.isFinite(idle) && idle > 0 ? idle : 120) * 1000;
    const minIdle = Number(process.env.TIX_SERVER_MIN_IDLE ?? MIN_IDLE_DEFAULT);
    this.minIdle = Number.isInteger(minIdle) && minIdle >= 1 && minIdle <= 8 ? minIdle : MIN_IDLE_DEFAULT;
    this.max = Math.max(availableParallelism() + 1, this.minIdle);
    this.target = this.minIdle;
    this.bundleIdentity = identity(opts.bundleMain);
    this.blob = usableBlob(opts.bundleMain, process.execArgv, process.env, process.execPath);
  }

  /** Take the lock and start serving; false when another manager serves this id. */
  start(): boolean {
    // bin/tix passes the lock it took (so concurrent clients start one manager, not many).
    const inherited = Number(process.env.TIX_SERVER_LOCK_FD ?? '-1');
    delete process.env.TIX_SERVER_LOCK_FD;
    const lockFd = inherited >= 0 ? inherited : openSync(this.lockPath, 'a', 0o600);
    sys.setCloexec(lockFd);
    if (!sys.tryLock(lockFd)) {
      closeSync(lockFd);
      return false;
    }
    // lockFd stays open (and locked) until the process exits.
    this.logFd = openSync(this.logPath, 'w', 0o600);
    try {
      unlinkSync(this.sock); // a stale socket of a manager that died
    } catch {
      // none
    }
    this.listenFd = sys.listenUnix(this.sock);
    this.sockIdentity = identity(this.sock);
    this.updateBusy();
    this.log(`serving ${this.sock} for ${this.opts.bundleMain}, idle timeout ${this.idleMs / 1000}s, children from ${this.blob ?? 'launch.js'}`);
    this.topUp();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => this.shutdown(`${sig}`));
    return true;
  }

  private log(msg: string): void {
    try {
      writeSync(this.logFd, `${new Date().toISOString()} tix-pool manager ${process.pid}: ${msg}\n`);
    } catch {
      // best effort
    }
  }

  /**
   * `<id>.busy` exists while no child is idle: bin/tix then runs the command
   * itself instead of queueing for a child that is still starting (a child's
   * start-up takes longer than a direct run, and a client that gave up would
   * waste the child that later accepts it).
   */
  private updateBusy(): void {
    const busy = this.count('idle') === 0;
    if (busy === this.busy) return;
    this.busy = busy;
    try {
      if (busy) writeFileSync(this.busyPath, '');
      else unlinkSync(this.busyPath);
    } catch {
      // a missing flag only means clients queue
    }
  }

  private count(state: State): number {
    let n = 0;
    for (const s of this.children.values()) if (s === state) n++;
    return n;
  }

  /** Lent children that took their job recently: probably back soon. */
  private returning(): number {
    const now = Date.now();
    let n = 0;
    for (const [c, s] of this.children) if (s === 'lent' && now - (this.lentAt.get(c) ?? 0) < LENT_MS) n++;
    return n;
  }

  private topUp(): void {
    while (this.count('idle') + this.count('starting') + this.returning() < this.target) this.spawnChild();
  }

  private spawnChild(): void {
    // argv[1] is the launch entry this manager runs from (the bundle's, not dist/src's);
    // execArgv carries the client's --stack-size, which the blob was built with.
    const entry = this.blob !== undefined ? ['--snapshot-blob', this.blob, '__tix_child'] : [process.argv[1]!, 'child'];
    const burst = this.previousTake > 0 && this.lastTake - this.previousTake < BURST_MS;
    const child = spawn(process.execPath, [...process.execArgv, ...entry, String(process.pid)], {
      stdio: ['ignore', 'ignore', this.logFd, this.listenFd, 'pipe'],
      cwd: '/',
      env: burst ? { ...process.env, TIX_WARM_BUILD: '0' } : process.env,
    });
    this.children.set(child, 'starting');
    this.started.set(child, Date.now());
    if (burst) this.burstChildren.add(child);
    if (this.blob !== undefined) this.fromBlob.add(child);
    const ctl = child.stdio[4] as Duplex;
    ctl.on('data', (b: Buffer) => {
      for (const c of b.toString('latin1')) this.onMessage(child, c);
    });
    ctl.on('error', () => undefined);
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
  }

  private onMessage(child: ChildProcess, c: string): void {
    const state = this.children.get(child);
    if (c === 'W' && state === 'starting') {
      const how = this.burstChildren.has(child) ? ' (burst: no build warm-up)' : '';
      this.log(`child ${child.pid} warm after ${Date.now() - (this.started.get(child) ?? 0)} ms${how}`);
      this.children.set(child, 'idle');
      this.earlyDeaths = 0;
      this.updateBusy();
    } else if (c === 'W' && state === 'lent') {
      this.children.set(child, 'idle');
      this.updateBusy();
    } else if ((c === 'T' || c === 'U') && (state === 'idle' || state === 'starting')) {
      this.children.set(child, c === 'T' ? 'busy' : 'lent');
      if (c === 'U') this.lentAt.set(child, Date.now());
      this.lastJob = Date.now();
      this.previousTake = this.lastTake;
      this.lastTake = this.lastJob;
      if (this.count('idle') === 0) {
        this.lastExhausted = this.lastJob;
        if (this.target < this.max) this.target++;
      }
      this.topUp();
      this.updateBusy();
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const state = this.children.get(child);
    this.children.delete(child);
    this.updateBusy();
    if (state === 'starting') {
      this.log(`child ${child.pid} died while starting (${signal ?? code})`);
      if (this.fromBlob.has(child) && this.blob !== undefined) {
        this.log(`children start from launch.js from now on, not ${this.blob}`);
        this.blob = undefined;
      }
      if (++this.earlyDeaths >= MAX_EARLY_DEATHS) {
        // bin/tix starts no pool for this build while the marker exists (see the log for why).
        writeFileSync(`${this.opts.dir}/${this.opts.id}.broken`, '');
        return this.shutdown('children keep dying at start-up', true);
      }
    }
    if (state === 'starting' || state === 'idle' || state === 'lent') this.topUp();
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastJob > this.idleMs) return this.shutdown('idle');
    if (identity(this.opts.bundleMain) !== this.bundleIdentity) return this.shutdown('bundle changed');
    if (identity(this.sock) !== this.sockIdentity) return this.shutdown('socket removed or replaced');
    // Lent children whose jobs run long stop counting as coming back.
    this.topUp();
    // Children coming back from jobs can leave more idle than the target: retire those too.
    if ((this.target > this.minIdle || this.count('idle') > this.target) && now - this.lastExhausted > SHRINK_MS) {
      if (this.target > this.minIdle) this.target--;
      this.lastExhausted = now;
      for (const [child, state] of this.children) {
        if (state !== 'idle' || this.count('idle') <= this.target) continue;
        this.retire(child);
        break;
      }
    }
  }

  private retire(child: ChildProcess): void {
    this.children.set(child, 'retired');
    (child.stdio[4] as Duplex).write('R');
  }

  private shutdown(why: string, keepLog = false): void {
    this.log(`exiting: ${why}`);
    if (this.timer) clearInterval(this.timer);
    // Only remove what is still ours: a newer manager may have replaced it.
    if (identity(this.sock) === this.sockIdentity) {
      for (const p of keepLog ? [this.sock, this.lockPath, this.busyPath] : [this.sock, this.lockPath, this.busyPath, this.logPath]) {
        try {
          unlinkSync(p);
        } catch {
          // already gone
        }
      }
    }
    // Idle children die with us (PDEATHSIG); started jobs cleared theirs and run on.
    process.exit(0);
  }
}

export function runManager(args: string[]): void {
  const [dir, id, bundleMain] = args;
  if (!dir || !id || !bundleMain || !sys.available()) process.exit(2);
  process.title = `tix-pool ${id}`;
  if (!new PoolManager({ dir, id, bundleMain }).start()) process.exit(0);
}

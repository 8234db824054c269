/**
 * A warm child of the launcher pool: a Node process that has loaded every
 * command module, then waits for a connection on the inherited listening
 * socket and becomes the process the client would have started: the client's
 * stdio (the very file descriptions, received with SCM_RIGHTS and dup2'd onto
 * 0-2, so offsets, O_APPEND and sockets behave as with an inherited fd), cwd,
 * environment, umask and argv.
 *
 * A job on the whitelist (reuse.ts) runs through `main` with stdio streams
 * made for it (job-stdio.ts) and, when it returned without leaving anything
 * behind (reuse.ts `leftovers`), the child gives the client's fds back
 * (/dev/null and the pool's log on 0-2), reports the exit status, waits for
 * the client to close (so no signal it forwards can reach a later job), puts
 * back a neutral environment, cwd, umask and argv, and waits for the next job:
 * commands in a loop then pay no process start each. Every other job, and one
 * that calls process.exit, throws, or leaves an fd, handle, listener or
 * exitCode behind, ends the process with its status, as a single-use child.
 * A child serves at most MAX_JOBS jobs and none after its RSS passed MAX_RSS.
 *
 * fd 3 is the listening socket (non-blocking, shared with the other
 * children; poll + accept4, losers of a race go back to polling), fd 4 a
 * socket to the manager: the child writes 'W' when warm (again after each
 * job it can follow with another), and when taken 'T' (single use) or 'U'
 * (a whitelisted job: it may come back); the manager writes 'R' (or closes)
 * to retire an idle child. Both are close-on-exec: a builder never holds them.
 *
 * Nothing here may touch process.stdin/stdout/stderr before the job starts:
 * Node creates those lazily from whatever fds 0-2 are at first use.
 */
import { openSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { loadCommand } from '../dispatch.js';
import { cliEntry, exitWhenUnfinished, main } from '../main.js';
import { makeJobStdio, useJobStdio, useNodeStdio, type JobStdio } from './job-stdio.js';
import { refuseReason } from './peer.js';
import { HEADER_BYTES, parseHeader, parseRequest, refusal, reply, type LaunchRequest } from './request.js';
import { captureState, keptLockFds, leftovers, reusableCommand, staleFd, type ProcessState } from './reuse.js';
import * as sys from './syscalls.js';
import { setNowhereEnv, warmUp } from './warm-up.js';

/**
 * Command modules loaded before a job arrives: the common commands, which
 * between them pull in the evaluator, store, build and glue chunks. A job
 * that is not reused pays its child's start-up in CPU, so rarer commands
 * (daemon, verify, export, …) load on demand as they would directly.
 */
const PRELOAD = [
  './nix-instantiate.js', './nix-build.js', './nix-hash.js', './nix.js', './nix-store.js',
  './nix-store/add.js', './nix-store/query.js', './nix-store/realise.js', './nix-store/restore.js', './nix-store/dump.js',
  './nix/eval.js', './nix/build.js', './nix/path-info.js',
];

const LISTEN_FD = 3;
const CTL_FD = 4;
const SIGKILL = 9;
/** How long a connected client may take to send its request or its go-ahead. */
const CLIENT_TIMEOUT_MS = 5000;
/** How long a client may take to exit after its job's status (then the child is not reused). */
const CLIENT_CLOSE_MS = 2000;
/** Jobs one child serves at most, and the RSS above which it serves no more (bounds what a leak could grow to). */
const MAX_JOBS = 500;
const MAX_RSS = 256 << 20;
/**
 * How long a returned job's late closes (a worker's exit, a socket's close, a
 * read in flight) may take before what is still open counts as left behind.
 */
const SETTLE_MS = 50;
/** How long a child that has served no job leaves a new connection to one that has. */
const FRESH_CHILD_DEFER_MS = 2;
/** How often an idle child that served jobs looks for stale store fds. */
const STALE_CHECK_MS = 500;

/** The pool's log (fd 2 when the child started) and /dev/null, kept out of 0-2 for the time between jobs. */
let logFd = 2;
let nullFd = -1;
/** The process as it was when warm, before any job. */
let warm: ProcessState | undefined;

function log(msg: string): void {
  try {
    writeSync(logFd, `tix-pool child ${process.pid}: ${msg}\n`);
  } catch {
    // the log is best effort
  }
}

/** How a reusable job's command runs: `main` (a test passes commands of its own). */
export type Runner = (program: string, args: string[]) => Promise<number>;

/** Entry: `launch.js child <manager pid>`. */
export async function runWarmChild(managerPid: number, run: Runner = main): Promise<void> {
  sys.setParentDeathSignal(SIGKILL);
  if (process.ppid !== managerPid) process.exit(0); // the manager died before the prctl
  // TIX_SERVER_REUSE=0 where the pool starts: every job uses up its child (for measuring reuse, or as a way out).
  const reuse = process.env.TIX_SERVER_REUSE !== '0';
  // A job's builders and helpers must not inherit the pool's sockets.
  sys.setCloexec(LISTEN_FD);
  sys.setCloexec(CTL_FD);
  logFd = sys.dupCloexec(2);
  nullFd = openSync('/dev/null', 'r+');
  for (const m of PRELOAD) await loadCommand(m, m).catch(() => undefined); // a job reports it
  if (process.env.TIX_SERVER_WARMUP === '0') setNowhereEnv();
  else await warmUp();
  refuseReason({ pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() }); // caches our identity
  const neutral = { umask: process.umask(), argv: [...process.argv] };
  warm = captureState();
  sys.writeAll(CTL_FD, Buffer.from('W'));
  for (let served = 0; ; served++) {
    const conn = waitForConnection(served);
    if (conn < 0) process.exit(0);
    const job = takeJob(conn, served, reuse);
    if (!job) process.exit(0); // the manager counted us as taken
    if (!job.reusable) return startJob(conn, job.req, job.fds);
    const idleAgain = (): boolean => {
      // As the pool's child again, not the client's.
      setNowhereEnv();
      process.chdir('/');
      process.umask(neutral.umask);
      process.argv = [...neutral.argv];
      sys.setParentDeathSignal(SIGKILL);
      if (process.ppid !== managerPid) return false;
      const rss = process.memoryUsage.rss();
      if (served + 1 >= MAX_JOBS || rss > MAX_RSS) {
        log(`retiring after ${served + 1} jobs, rss ${rss >> 20} MiB`);
        return false;
      }
      watchLockFds();
      return true;
    };
    if (!(await runReusableJob(conn, job.req, job.fds, run, idleAgain))) return; // the process ends with the job
  }
}

/**
 * inotify watches on the files of the store lock fds jobs left, so that the
 * child leaves as soon as one is deleted (reuse.ts `staleFd`) rather than
 * refusing the next client (who then runs the command itself). -1: no
 * inotify here, an idle child looks every STALE_CHECK_MS instead.
 */
let inotifyFd = -2;
const watchedLocks = new Set<string>();

function watchLockFds(): void {
  if (inotifyFd === -2) {
    try {
      inotifyFd = sys.inotifyInit();
    } catch {
      inotifyFd = -1;
    }
  }
  if (inotifyFd < 0) return;
  for (const { fd, key } of keptLockFds(warm!)) {
    if (watchedLocks.has(key)) continue;
    try {
      // The magic link names the very inode the fd holds; an unlink changes its link count (IN_ATTRIB).
      sys.inotifyAddWatch(inotifyFd, `/proc/self/fd/${fd}`, sys.IN_ATTRIB);
      watchedLocks.add(key);
    } catch {
      // (out of watches: the next take still checks)
    }
  }
}

/**
 * Poll until a connection is ours (fd) or the manager retires us (-1). A
 * child that served jobs also leaves when a store fd a job left goes stale.
 */
function waitForConnection(served: number): number {
  for (;;) {
    const fds = inotifyFd >= 0 ? [LISTEN_FD, CTL_FD, inotifyFd] : [LISTEN_FD, CTL_FD];
    const [lis, ctl, ino = 0] = sys.pollIn(fds, inotifyFd < 0 && served > 0 ? STALE_CHECK_MS : -1) as [number, number, number?];
    if (ino !== 0 || (lis === 0 && ctl === 0)) {
      if (ino !== 0) sys.drain(inotifyFd);
      const why = staleFd(warm!);
      if (why === undefined) continue;
      log(`leaving: ${why}`);
      return -1;
    }
    if (ctl !== 0) return -1;
    if (lis & sys.POLLIN) {
      // A child that has served jobs has their code paths compiled: let it take the job first.
      if (served === 0) sys.pollIn([CTL_FD], FRESH_CHILD_DEFER_MS);
      const fd = sys.acceptConn(LISTEN_FD);
      if (fd >= 0) return fd;
    } else if (lis !== 0) {
      return -1; // the listener is gone
    }
  }
}

function readWithTimeout(fd: number, buf: Buffer): number {
  const [ev] = sys.pollIn([fd], CLIENT_TIMEOUT_MS);
  if (ev === 0) throw new Error('client timed out');
  return sys.readFd(fd, buf);
}

/**
 * Read the request and its fds, check the peer, tell the manager how we are
 * taken, hand over our pid ('P', or 'Q' when this child served jobs before),
 * wait for 'G'.
 */
function takeJob(conn: number, served: number, reuse: boolean): { req: LaunchRequest; fds: number[]; reusable: boolean } | undefined {
  let fds: number[] = [];
  let told = false;
  try {
    const first = Buffer.alloc(1 << 16);
    const [ev] = sys.pollIn([conn], CLIENT_TIMEOUT_MS);
    if (ev === 0) throw new Error('client timed out');
    const got = sys.recvWithFds(conn, first);
    fds = got.fds;
    if (got.n < HEADER_BYTES) throw new Error('short request');
    const len = parseHeader(first.subarray(0, got.n));
    if (typeof len === 'string') throw new Error(len);
    const body = Buffer.alloc(len);
    let have = first.copy(body, 0, HEADER_BYTES, Math.min(got.n, HEADER_BYTES + len));
    while (have < len) {
      const n = readWithTimeout(conn, body.subarray(have));
      if (n === 0) throw new Error('short request');
      have += n;
    }
    const req = parseRequest(body);
    // (A child that served jobs before may hold a store's lock fd whose file is gone: reuse.ts.)
    const why = typeof req === 'string' ? req : got.fds.length !== 4 || got.truncated ? 'expected 4 fds'
      : refuseReason(sys.peerCredentials(conn)) ?? (served > 0 ? staleFd(warm!) : undefined);
    if (why !== undefined || typeof req === 'string') {
      sys.writeAll(conn, refusal(why ?? 'bad request'));
      throw new Error(`refused: ${why}`);
    }
    const reusable = reuse && reusableCommand(req.program, req.args);
    sys.writeAll(CTL_FD, Buffer.from(reusable ? 'U' : 'T'));
    told = true;
    // From here the job must survive the manager (it may retire while we run).
    sys.setParentDeathSignal(0);
    sys.writeAll(conn, reply(served > 0 ? 'Q' : 'P', process.pid));
    const ack = Buffer.alloc(1);
    if (readWithTimeout(conn, ack) !== 1 || ack[0] !== 0x47 /* G */) throw new Error('client went away before the start');
    return { req, fds, reusable };
  } catch (e) {
    if (!told) sys.writeAll(CTL_FD, Buffer.from('T'));
    log(e instanceof Error ? e.message : String(e));
    for (const fd of fds) sys.closeFd(fd);
    sys.closeFd(conn);
    return undefined;
  }
}

/**
 * Take on the client's stdio (dup2 onto 0-2), cwd, environment, umask and
 * argv. Returns the fds' original file status flags.
 */
function becomeClient(req: LaunchRequest, fds: number[]): number[] {
  log(`job: ${req.program} ${req.args.length} args`);
  // Node restores stdio's O_NONBLOCK at exit only for the fds it started with; do it for these.
  const flags = [0, 1, 2].map((i) => sys.getFlags(fds[i]!));
  for (let i = 0; i < 3; i++) {
    sys.dup2(fds[i]!, i);
    sys.closeFd(fds[i]!);
  }
  try {
    sys.fchdir(fds[3]!);
    process.chdir('.'); // drops Node's cached cwd
  } catch {
    process.chdir(req.cwd);
  }
  sys.closeFd(fds[3]!);
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  process.umask(req.umask);
  process.argv = [process.execPath, req.argv0, ...req.args];
  return flags;
}

function restoreFlags(flags: number[]): void {
  for (let i = 0; i < 3; i++) {
    try {
      const now = sys.getFlags(i);
      if ((now ^ flags[i]!) & sys.O_NONBLOCK) sys.setFlags(i, (now & ~sys.O_NONBLOCK) | (flags[i]! & sys.O_NONBLOCK));
    } catch {
      // fd closed by the command
    }
  }
}

/** At exit, the job's status goes to the client. */
function reportAtExit(conn: number, flags: number[]): (code: number) => void {
  const onExit = (code: number): void => {
    restoreFlags(flags);
    try {
      sys.writeAll(conn, reply('S', code));
    } catch {
      // the client is gone
    }
  };
  process.on('exit', onExit);
  return onExit;
}

/** Become the client's process and run the command; the process ends with it. */
function startJob(conn: number, req: LaunchRequest, fds: number[]): void {
  sys.closeFd(LISTEN_FD);
  sys.closeFd(CTL_FD);
  useNodeStdio();
  reportAtExit(conn, becomeClient(req, fds));
  watchClient(conn);
  void cliEntry(req.program, req.args);
}

/**
 * Run a whitelisted job so that this process can serve another after it.
 * True when it did and the child is idle again (`idleAgain` made it neutral
 * and said whether it may go on); false when the process ends with the job
 * (its exit sends the status).
 */
async function runReusableJob(conn: number, req: LaunchRequest, fds: number[], run: Runner, idleAgain: () => boolean): Promise<boolean> {
  const flags = becomeClient(req, fds);
  const io: JobStdio = makeJobStdio();
  useJobStdio(io);
  const onExit = reportAtExit(conn, flags);
  const watch = watchClient(sys.dupCloexec(conn));
  const before = captureState();
  const code = await exitWhenUnfinished(run(req.program, req.args));
  let why = stdioProblem(io);
  const returned = Date.now();
  for (let turn = 0; why === undefined; turn++) {
    const left = leftovers(before);
    if (left === undefined) break;
    if (Date.now() - returned > SETTLE_MS) why = left;
    else await new Promise((r) => (turn < 4 ? setImmediate(r) : setTimeout(r, 2)));
  }
  if (why !== undefined) {
    log(`not reused: ${why}`);
    // As cliEntry: the process exits when its event loop is done, with this status.
    process.exitCode = code;
    return false;
  }
  // Give the client's fds back before the status: whoever reads its stdout sees EOF when it exits.
  restoreFlags(flags);
  for (let i = 0; i < 3; i++) sys.dup2(i === 2 ? logFd : nullFd, i);
  useJobStdio(undefined);
  process.off('exit', onExit);
  watch.removeAllListeners();
  watch.on('error', () => undefined);
  watch.destroy();
  // Idle before the status: the manager then clears its busy flag before this client's next
  // command looks at it (a client that connects meanwhile waits in the backlog, briefly).
  const again = idleAgain();
  if (again) sys.writeAll(CTL_FD, Buffer.from('W'));
  try {
    sys.writeAll(conn, reply('S', code));
    if (!again) process.exit(0);
    // The client exits on the status; until it has, a signal it forwards could reach the next job.
    const [ev] = sys.pollIn([conn], CLIENT_CLOSE_MS);
    if (ev === 0 || sys.readFd(conn, Buffer.alloc(1)) !== 0) throw new Error('the client did not close after its status');
  } catch (e) {
    log(`not reused: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(0);
  } finally {
    sys.closeFd(conn);
  }
  return true;
}

/** Why the job's stdio rules out another job (stdin may have a read pending; a failed write). */
function stdioProblem(io: JobStdio): string | undefined {
  if (io.stdin.used) return 'stdin was read';
  if (io.stdout.errored || io.stderr.errored) return 'stdout or stderr failed';
  if (io.stdout.writableLength > 0 || io.stderr.writableLength > 0) return 'unwritten output';
  return undefined;
}

/** A job whose client died (SIGKILL) must not run on: die with it. */
function watchClient(conn: number): Socket {
  const s = new Socket({ fd: conn, readable: true, writable: false });
  const die = (): void => {
    process.kill(process.pid, 'SIGKILL');
  };
  s.on('data', () => undefined);
  s.on('end', die);
  s.on('error', die);
  s.unref();
  return s;
}

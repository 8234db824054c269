/**
 * A warm child of the launcher pool: a Node process that has loaded every
 * command module, then waits for one connection on the inherited listening
 * socket and becomes the process the client would have started: the client's
 * stdio (the very file descriptions, received with SCM_RIGHTS, so offsets,
 * O_APPEND and sockets behave as with an inherited fd), cwd, environment,
 * umask and argv. It runs exactly one command and exits; nothing is reused.
 *
 * fd 3 is the listening socket (non-blocking, shared with the other
 * children; poll + accept4, losers of a race go back to polling), fd 4 a
 * socket to the manager: the child writes 'W' when warm and 'T' when taken;
 * the manager writes 'R' (or closes) to retire an idle child.
 *
 * Nothing here may touch process.stdin/stdout/stderr before the job starts:
 * Node creates those lazily from whatever fds 0-2 are at first use.
 */
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { loadCommand } from '../dispatch.js';
import { cliEntry } from '../main.js';
import { refuseReason } from './peer.js';
import { HEADER_BYTES, parseHeader, parseRequest, refusal, reply, type LaunchRequest } from './request.js';
import * as sys from './syscalls.js';
import { setNowhereEnv, warmUp } from './warm-up.js';

/**
 * Command modules loaded before a job arrives: the common commands, which
 * between them pull in the evaluator, store, build and glue chunks. Every
 * job pays its child's start-up in CPU (each child serves one job), so rarer
 * commands (daemon, verify, export, …) load on demand as they would directly.
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

function log(msg: string): void {
  try {
    writeSync(2, `tix-pool child ${process.pid}: ${msg}\n`);
  } catch {
    // the log is best effort
  }
}

/** Entry: `launch.js child <manager pid>`. */
export async function runWarmChild(managerPid: number): Promise<void> {
  sys.setParentDeathSignal(SIGKILL);
  if (process.ppid !== managerPid) process.exit(0); // the manager died before the prctl
  for (const m of PRELOAD) await loadCommand(m, m).catch(() => undefined); // a job reports it
  if (process.env.TIX_SERVER_WARMUP === '0') setNowhereEnv();
  else await warmUp();
  refuseReason({ pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() }); // caches our identity
  sys.writeAll(CTL_FD, Buffer.from('W'));
  for (;;) {
    const conn = waitForConnection();
    if (conn < 0) process.exit(0);
    sys.writeAll(CTL_FD, Buffer.from('T'));
    const job = takeJob(conn);
    if (job) return startJob(conn, job.req, job.fds);
    process.exit(0); // the manager already counted us as taken
  }
}

/** Poll until a connection is ours (fd) or the manager retires us (-1). */
function waitForConnection(): number {
  for (;;) {
    const [lis, ctl] = sys.pollIn([LISTEN_FD, CTL_FD], -1) as [number, number];
    if (ctl !== 0) return -1;
    if (lis & sys.POLLIN) {
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

/** Read the request and its fds, check the peer, hand over our pid, wait for 'G'. */
function takeJob(conn: number): { req: LaunchRequest; fds: number[] } | undefined {
  let fds: number[] = [];
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
    const why = typeof req === 'string' ? req : got.fds.length !== 4 || got.truncated ? 'expected 4 fds' : refuseReason(sys.peerCredentials(conn));
    if (why !== undefined || typeof req === 'string') {
      sys.writeAll(conn, refusal(why ?? 'bad request'));
      throw new Error(`refused: ${why}`);
    }
    // From here the job must survive the manager (it may retire while we run).
    sys.setParentDeathSignal(0);
    sys.writeAll(conn, reply('P', process.pid));
    const ack = Buffer.alloc(1);
    if (readWithTimeout(conn, ack) !== 1 || ack[0] !== 0x47 /* G */) throw new Error('client went away before the start');
    return { req, fds };
  } catch (e) {
    log(e instanceof Error ? e.message : String(e));
    for (const fd of fds) sys.closeFd(fd);
    sys.closeFd(conn);
    return undefined;
  }
}

/** Become the client's process and run the command. */
function startJob(conn: number, req: LaunchRequest, fds: number[]): void {
  log(`job: ${req.program} ${req.args.length} args`);
  sys.closeFd(LISTEN_FD);
  sys.closeFd(CTL_FD);
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
  process.on('exit', (code) => {
    for (let i = 0; i < 3; i++) {
      try {
        const now = sys.getFlags(i);
        if ((now ^ flags[i]!) & sys.O_NONBLOCK) sys.setFlags(i, (now & ~sys.O_NONBLOCK) | (flags[i]! & sys.O_NONBLOCK));
      } catch {
        // fd closed by the command
      }
    }
    try {
      sys.writeAll(conn, reply('S', code));
    } catch {
      // the client is gone
    }
  });
  watchClient(conn);
  void cliEntry(req.program, req.args);
}

/** A job whose client died (SIGKILL) must not run on: die with it. */
function watchClient(conn: number): void {
  const s = new Socket({ fd: conn, readable: true, writable: false });
  const die = (): void => {
    process.kill(process.pid, 'SIGKILL');
  };
  s.on('data', () => undefined);
  s.on('end', die);
  s.on('error', die);
  s.unref();
}

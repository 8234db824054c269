/**
 * Starting a child with posix_spawn(3) through koffi, for builders and the
 * build's helper programs (Nix 2.8 starts its builder with its own fork:
 * `startProcess` in `startBuilder`). Node's `spawn` forks the whole Node
 * process and waits for the exec on the main thread: 2.5 ms at 47 MB RSS, 7.8
 * ms at 330 MB here. glibc's posix_spawn uses CLONE_VM|CLONE_VFORK, so it
 * costs 0.2–0.7 ms whatever the size of this process, and no helper process
 * is needed in between.
 *
 * The child gets: its own session (POSIX_SPAWN_SETSID), every signal at its
 * default disposition and none blocked (Node ignores SIGPIPE; a builder must
 * not inherit that), stdin from /dev/null, stdout and stderr on ONE pipe (or
 * /dev/null), the given cwd and exactly the given environment. No other fd:
 * Node, libuv and SQLite open theirs close-on-exec, and what tix inherited
 * without it is closed in the child (glibc ≥ 2.34, `addclosefrom_np`).
 *
 * Exit statuses are collected with waitpid(pid, WNOHANG) for our own pids
 * only (libuv likewise reaps only its own children), on SIGCHLD, when the
 * output ends, and every 100 ms as a safety net for a coalesced signal.
 *
 * Unavailable (no koffi, another architecture or libc): `nativeSpawn`
 * returns undefined and callers use their previous way.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { constants } from 'node:os';

type Fn = (...a: unknown[]) => number;

interface Libc {
  posixSpawn: Fn;
  faInit: Fn;
  faDestroy: Fn;
  faDup2: Fn;
  faOpen: Fn;
  faChdir: Fn;
  /** glibc ≥ 2.34; null before. */
  faCloseFrom: Fn | null;
  attrInit: Fn;
  attrDestroy: Fn;
  attrFlags: Fn;
  attrSigDefault: Fn;
  attrSigMask: Fn;
  pipe2: Fn;
  socketpair: Fn;
  waitpid: Fn;
  strerror: (e: number) => string;
}

const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const O_CLOEXEC = 0o2000000;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const WNOHANG = 1;
/** Larger than glibc's posix_spawn_file_actions_t (80 B) and posix_spawnattr_t (336 B) on x86_64/aarch64. */
const OPAQUE_BYTES = 1024;

let libc: Libc | null | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64') || process.env.TIX_POSIX_SPAWN === '0') return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as { load(lib: string): { func(sig: string): Fn } };
    const lib = koffi.load('libc.so.6');
    const f = (sig: string): Fn => lib.func(sig);
    const optional = (sig: string): Fn | null => {
      try {
        return f(sig);
      } catch {
        return null;
      }
    };
    libc = {
      posixSpawn: f('int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)'),
      faInit: f('int posix_spawn_file_actions_init(void *fa)'),
      faDestroy: f('int posix_spawn_file_actions_destroy(void *fa)'),
      faDup2: f('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
      faOpen: f('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, unsigned int mode)'),
      faChdir: f('int posix_spawn_file_actions_addchdir_np(void *fa, const char *path)'),
      faCloseFrom: optional('int posix_spawn_file_actions_addclosefrom_np(void *fa, int from)'),
      attrInit: f('int posix_spawnattr_init(void *attr)'),
      attrDestroy: f('int posix_spawnattr_destroy(void *attr)'),
      attrFlags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
      attrSigDefault: f('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
      attrSigMask: f('int posix_spawnattr_setsigmask(void *attr, void *set)'),
      pipe2: f('int pipe2(_Out_ int *fds, int flags)'),
      socketpair: f('int socketpair(int domain, int type, int protocol, _Out_ int *fds)'),
      waitpid: f('int waitpid(int pid, _Out_ int *status, int options)'),
      strerror: f('const char *strerror(int errnum)') as unknown as (e: number) => string,
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** Whether `nativeSpawn` can start children here. */
export function nativeSpawnAvailable(): boolean {
  return load() !== null;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

// ---------- reaping ----------

interface Waiter {
  resolve(s: ExitStatus): void;
  /** Keeps the event loop alive while the child runs (an idle helper does not). */
  ref: boolean;
}

const waiting = new Map<number, Waiter>();
let safety: NodeJS.Timeout | undefined;
let listening = false;
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));

function decode(status: number): ExitStatus {
  const sig = status & 0x7f;
  return sig === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: SIGNAL_NAMES.get(sig) ?? 'SIGKILL' };
}

function reap(): void {
  const c = libc;
  if (!c) return;
  const st = [0];
  for (const [pid, w] of waiting) {
    const r = c.waitpid(pid, st, WNOHANG);
    if (r === 0) continue; // still running
    waiting.delete(pid);
    // r < 0 (ECHILD: someone else reaped it) cannot happen for our own pids; report it as killed.
    w.resolve(r === pid ? decode(st[0]!) : { code: null, signal: 'SIGKILL' });
  }
  updateWatch();
}

/**
 * SIGCHLD wakes `reap` (Node's signal handles do not keep the event loop
 * alive; this one stays installed). A 100 ms interval is the safety net for a
 * coalesced signal, and keeps the loop alive while a ref'd child runs, even
 * one that closed its output.
 */
function updateWatch(): void {
  if (waiting.size === 0) {
    if (safety !== undefined) clearInterval(safety);
    safety = undefined;
    return;
  }
  if (!listening) {
    process.on('SIGCHLD', reap);
    listening = true;
  }
  safety ??= setInterval(reap, 100);
  let ref = false;
  for (const w of waiting.values()) ref ||= w.ref;
  if (ref) safety.ref();
  else safety.unref();
}

/** Whether a running child keeps the event loop alive (default: yes). */
export function setChildRef(pid: number, ref: boolean): void {
  const w = waiting.get(pid);
  if (w === undefined || w.ref === ref) return;
  w.ref = ref;
  updateWatch();
}

// ---------- spawning ----------

/** A pipe [read, write], both close-on-exec; undefined when unavailable. */
export function nativePipe(): [number, number] | undefined {
  const c = load();
  const fds = [-1, -1];
  if (c === null || c.pipe2(fds, O_CLOEXEC) !== 0) return undefined;
  return [fds[0]!, fds[1]!];
}

/** A connected pair of Unix stream sockets, both close-on-exec; undefined when unavailable. */
export function nativeSocketPair(): [number, number] | undefined {
  const c = load();
  const fds = [-1, -1];
  if (c === null || c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) !== 0) return undefined;
  return [fds[0]!, fds[1]!];
}

export interface SpawnFdsOptions {
  file: string;
  /** argv, argv[0] included. */
  argv: readonly string[];
  /** `K=V` entries, in the order the child should see them. */
  env: readonly string[];
  cwd: string;
  /** The child's fd i is this process's fd `fds[i]`; null: /dev/null. Nothing else is inherited. */
  fds: readonly (number | null)[];
  /** Own session and process group (a builder); default false. */
  setsid?: boolean;
}

export type SpawnResult =
  | { ok: true; pid: number; exited: Promise<ExitStatus> }
  /** posix_spawn failed in the child (exec: ENOENT, EACCES, ENOEXEC, …) or before it. */
  | { ok: false; errno: number; message: string };

/** posix_spawn with the given fds; undefined when it cannot be used here. */
export function spawnWithFds(o: SpawnFdsOptions): SpawnResult | undefined {
  const c = load();
  // A source below its target would have been replaced by an earlier dup2 in the child.
  if (c === null || o.fds.some((fd, i) => fd !== null && fd < i)) return undefined;
  const fa = Buffer.alloc(OPAQUE_BYTES);
  const attr = Buffer.alloc(OPAQUE_BYTES);
  c.faInit(fa);
  c.attrInit(attr);
  let err: number;
  const pid = [0];
  try {
    o.fds.forEach((fd, i) => {
      // dup2 onto the child's fd clears close-on-exec there; the parent's fd keeps it.
      if (fd === null) c.faOpen(fa, i, '/dev/null', i === 0 ? 0 : 1, 0);
      else c.faDup2(fa, fd, i);
    });
    // Whatever this process inherited without close-on-exec stops here (2.8's closeMostFDs).
    c.faCloseFrom?.(fa, o.fds.length);
    c.faChdir(fa, o.cwd);
    c.attrFlags(attr, (o.setsid ? POSIX_SPAWN_SETSID : 0) | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    c.attrSigDefault(attr, Buffer.alloc(128, 0xff)); // every signal back to SIG_DFL
    c.attrSigMask(attr, Buffer.alloc(128)); // none blocked
    err = c.posixSpawn(pid, o.file, fa, attr, [...o.argv, null], [...o.env, null]);
  } finally {
    c.faDestroy(fa);
    c.attrDestroy(attr);
  }
  if (err !== 0) return { ok: false, errno: err, message: c.strerror(err) };
  // Registered before this call returns to the event loop, so no SIGCHLD can be handled without it.
  const exited = new Promise<ExitStatus>((resolve) => waiting.set(pid[0]!, { resolve, ref: true }));
  updateWatch();
  return { ok: true, pid: pid[0]!, exited };
}

export interface NativeSpawnOptions {
  file: string;
  /** argv, argv[0] included. */
  argv: readonly string[];
  /** `K=V` entries, in the order the child should see them. */
  env: readonly string[];
  cwd: string;
  /** 'pipe': stdout and stderr on one pipe, returned as `output`; 'ignore': both /dev/null. */
  output: 'pipe' | 'ignore';
}

export type NativeChild =
  | { ok: true; pid: number; output: Socket | undefined; exited: Promise<ExitStatus> }
  | { ok: false; errno: number; message: string };

/** Start a child in its own session, stdin /dev/null; undefined when posix_spawn cannot be used here. */
export function nativeSpawn(o: NativeSpawnOptions): NativeChild | undefined {
  const pipe = o.output === 'pipe' ? nativePipe() : undefined;
  if (o.output === 'pipe' && pipe === undefined) return undefined;
  let r: SpawnResult | undefined;
  try {
    const w = pipe ? pipe[1] : null;
    r = spawnWithFds({ file: o.file, argv: o.argv, env: o.env, cwd: o.cwd, fds: [null, w, w], setsid: true });
  } finally {
    if (pipe) closeSync(pipe[1]);
  }
  if (r === undefined || !r.ok) {
    if (pipe) closeSync(pipe[0]);
    return r;
  }
  let output: Socket | undefined;
  if (pipe) {
    output = new Socket({ fd: pipe[0], readable: true, writable: false });
    // The child's end of output is usually its exit: look at once instead of waiting for the signal.
    output.once('end', () => setImmediate(reap));
  }
  return { ok: true, pid: r.pid, output, exited: r.exited };
}

let statusFd: number | undefined;
const statusBuf = Buffer.alloc(4096);

/**
 * This process's umask, read without changing it: process.umask() with no
 * argument is deprecated, and setting it to read it would race with file
 * creation in the thread pool. Read each time, from /proc/self/status kept
 * open (a pread: about 10 µs): the launcher's warm child takes the client's
 * umask only when its job starts. -1 when unknown.
 */
export function currentUmask(): number {
  try {
    statusFd ??= openSync('/proc/self/status', 'r');
    const n = readSync(statusFd, statusBuf, 0, statusBuf.length, 0);
    const m = /^Umask:\s*([0-7]+)$/m.exec(statusBuf.toString('latin1', 0, n));
    return m ? parseInt(m[1]!, 8) : -1;
  } catch {
    return -1;
  }
}

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
 * /dev/null), the given cwd and exactly the given environment. Every other fd
 * of this process is close-on-exec (Node, libuv and SQLite open theirs so).
 *
 * Exit statuses are collected with waitpid(pid, WNOHANG) for our own pids
 * only (libuv likewise reaps only its own children), on SIGCHLD, when the
 * output ends, and every 100 ms as a safety net for a coalesced signal.
 *
 * Unavailable (no koffi, another architecture or libc): `nativeSpawn`
 * returns undefined and callers use their previous way.
 */
import { closeSync, readFileSync } from 'node:fs';
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
  attrInit: Fn;
  attrDestroy: Fn;
  attrFlags: Fn;
  attrSigDefault: Fn;
  attrSigMask: Fn;
  pipe2: Fn;
  waitpid: Fn;
  strerror: (e: number) => string;
}

const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const O_CLOEXEC = 0o2000000;
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
    libc = {
      posixSpawn: f('int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)'),
      faInit: f('int posix_spawn_file_actions_init(void *fa)'),
      faDestroy: f('int posix_spawn_file_actions_destroy(void *fa)'),
      faDup2: f('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
      faOpen: f('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, unsigned int mode)'),
      faChdir: f('int posix_spawn_file_actions_addchdir_np(void *fa, const char *path)'),
      attrInit: f('int posix_spawnattr_init(void *attr)'),
      attrDestroy: f('int posix_spawnattr_destroy(void *attr)'),
      attrFlags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
      attrSigDefault: f('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
      attrSigMask: f('int posix_spawnattr_setsigmask(void *attr, void *set)'),
      pipe2: f('int pipe2(_Out_ int *fds, int flags)'),
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

const waiting = new Map<number, (s: ExitStatus) => void>();
let safety: NodeJS.Timeout | undefined;
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));

function decode(status: number): ExitStatus {
  const sig = status & 0x7f;
  return sig === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: SIGNAL_NAMES.get(sig) ?? 'SIGKILL' };
}

function reap(): void {
  const c = libc;
  if (!c) return;
  const st = [0];
  for (const [pid, resolve] of waiting) {
    const r = c.waitpid(pid, st, WNOHANG);
    if (r === 0) continue; // still running
    waiting.delete(pid);
    // r < 0 (ECHILD: someone else reaped it) cannot happen for our own pids; report it as killed.
    resolve(r === pid ? decode(st[0]!) : { code: null, signal: 'SIGKILL' });
  }
  if (waiting.size === 0) stopWatching();
}

let listening = false;

function startWatching(): void {
  if (!listening) {
    // Node's signal handles do not keep the event loop alive; this one stays installed.
    process.on('SIGCHLD', reap);
    listening = true;
  }
  // Keeps the event loop alive while a child runs, even one that closed its output.
  safety ??= setInterval(reap, 100);
}

function stopWatching(): void {
  if (safety === undefined) return;
  clearInterval(safety);
  safety = undefined;
}

// ---------- spawning ----------

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
  /** posix_spawn failed in the child (exec: ENOENT, EACCES, ENOEXEC, …) or before it. */
  | { ok: false; errno: number; message: string };

/** Start a child; undefined when posix_spawn cannot be used here. */
export function nativeSpawn(o: NativeSpawnOptions): NativeChild | undefined {
  const c = load();
  if (c === null) return undefined;
  const fds = [-1, -1];
  if (o.output === 'pipe' && c.pipe2(fds, O_CLOEXEC) !== 0) return undefined;
  const fa = Buffer.alloc(OPAQUE_BYTES);
  const attr = Buffer.alloc(OPAQUE_BYTES);
  c.faInit(fa);
  c.attrInit(attr);
  let err: number;
  const pid = [0];
  try {
    c.faOpen(fa, 0, '/dev/null', 0, 0);
    if (o.output === 'pipe') {
      c.faDup2(fa, fds[1], 1);
      c.faDup2(fa, fds[1], 2);
    } else {
      c.faOpen(fa, 1, '/dev/null', 1, 0);
      c.faDup2(fa, 1, 2);
    }
    c.faChdir(fa, o.cwd);
    c.attrFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    c.attrSigDefault(attr, Buffer.alloc(128, 0xff)); // every signal back to SIG_DFL
    c.attrSigMask(attr, Buffer.alloc(128)); // none blocked
    startWatching(); // before the child exists: its SIGCHLD must not be missed
    err = c.posixSpawn(pid, o.file, fa, attr, [...o.argv, null], [...o.env, null]);
  } finally {
    c.faDestroy(fa);
    c.attrDestroy(attr);
    if (fds[1]! >= 0) closeSync(fds[1]!);
  }
  if (err !== 0) {
    if (fds[0]! >= 0) closeSync(fds[0]!);
    if (waiting.size === 0) stopWatching();
    return { ok: false, errno: err, message: c.strerror(err) };
  }
  const exited = new Promise<ExitStatus>((resolve) => waiting.set(pid[0]!, resolve));
  let output: Socket | undefined;
  if (o.output === 'pipe') {
    output = new Socket({ fd: fds[0]!, readable: true, writable: false });
    // The child's end of output is usually its exit: look at once instead of waiting for the signal.
    output.once('end', () => setImmediate(reap));
  }
  return { ok: true, pid: pid[0]!, output, exited };
}

let umask: number | undefined;

/**
 * This process's umask, read without changing it: process.umask() with no
 * argument is deprecated, and setting it to read it would race with file
 * creation in the thread pool. -1 when unknown. Read once: tix sets its
 * umask only before a command starts (the launcher's warm child).
 */
export function currentUmask(): number {
  if (umask !== undefined) return umask;
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
    umask = m ? parseInt(m[1]!, 8) : -1;
  } catch {
    umask = -1;
  }
  return umask;
}

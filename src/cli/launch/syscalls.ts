/**
 * The few libc calls the warm-process launcher needs and Node does not offer:
 * a listening Unix socket kept out of libuv (so each warm child can block in
 * accept()), fd passing (recvmsg with SCM_RIGHTS), dup2 onto stdio, fchdir,
 * flock, prctl, SO_PEERCRED and a terminal's size. Called through koffi, as src/protocol does
 * for SO_PEERCRED. Linux on x86_64/aarch64 only (LP64 struct layouts).
 *
 * Errors come back as a thrown `SysError` carrying the errno name, so callers
 * can test for EAGAIN/EINTR without parsing text.
 */
import { createRequire } from 'node:module';

type Fn = (...args: unknown[]) => number;
interface Koffi {
  load(lib: string): { func(sig: string): Fn };
  address(buf: Buffer): bigint;
  decode(ptr: unknown, type: string): number;
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 9: 'EBADF', 11: 'EAGAIN', 13: 'EACCES', 17: 'EEXIST', 22: 'EINVAL',
  32: 'EPIPE', 98: 'EADDRINUSE', 104: 'ECONNRESET', 107: 'ENOTCONN', 111: 'ECONNREFUSED',
};

export class SysError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${ERRNO_NAMES[errno] ?? `errno ${errno}`}`);
  }
  get code(): string {
    return ERRNO_NAMES[this.errno] ?? `E${this.errno}`;
  }
}

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const POLLIN = 1;
export const POLLOUT = 4;
export const POLLHUP = 0x10;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SCM_RIGHTS = 1;
const F_GETFL = 3;
const F_DUPFD_CLOEXEC = 1030;
const TIOCGWINSZ = 0x5413;
const F_SETFL = 4;
export const O_NONBLOCK = 0o4000;
const LOCK_EX = 2;
const LOCK_NB = 4;
const PR_SET_PDEATHSIG = 1;

interface Libc {
  socket: Fn; bind: Fn; listen: Fn; accept4: Fn; recvmsg: Fn; poll: Fn; read: Fn; write: Fn;
  close: Fn; dup2: Fn; fchdir: Fn; fcntl: Fn; flock: Fn; prctl: Fn; getsockopt: Fn; rename: Fn; ioctl: Fn;
  inotifyInit1: Fn; inotifyAddWatch: Fn;
  errnoLocation: () => unknown;
}

let koffi: Koffi | undefined;
let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const l = koffi.load('libc.so.6');
  libc = {
    socket: l.func('int socket(int, int, int)'),
    bind: l.func('int bind(int, void *, uint32_t)'),
    listen: l.func('int listen(int, int)'),
    accept4: l.func('int accept4(int, void *, void *, int)'),
    recvmsg: l.func('intptr_t recvmsg(int, void *, int)'),
    poll: l.func('int poll(void *, unsigned long, int)'),
    read: l.func('intptr_t read(int, void *, size_t)'),
    write: l.func('intptr_t write(int, void *, size_t)'),
    close: l.func('int close(int)'),
    dup2: l.func('int dup2(int, int)'),
    fchdir: l.func('int fchdir(int)'),
    fcntl: l.func('int fcntl(int, int, int)'),
    flock: l.func('int flock(int, int)'),
    prctl: l.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)'),
    getsockopt: l.func('int getsockopt(int, int, int, void *, void *)'),
    rename: l.func('int rename(const char *, const char *)'),
    ioctl: l.func('int ioctl(int, unsigned long, void *)'),
    inotifyInit1: l.func('int inotify_init1(int)'),
    inotifyAddWatch: l.func('int inotify_add_watch(int, const char *, uint32_t)'),
    errnoLocation: l.func('int *__errno_location()') as unknown as () => unknown,
  };
  return libc;
}

function errno(): number {
  const l = lib();
  return koffi!.decode(l.errnoLocation(), 'int');
}

/** Run a libc call; a negative result throws SysError(errno). EINTR is retried. */
function check(name: string, f: () => number): number {
  for (;;) {
    const r = Number(f());
    if (r >= 0) return r;
    const e = errno();
    if (e !== 4) throw new SysError(name, e);
  }
}

/** Whether the FFI can be loaded here (Linux, x86_64/aarch64, koffi installed). */
export function available(): boolean {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return false;
  try {
    lib();
    return true;
  } catch {
    return false;
  }
}

function sockaddrUn(path: string): Buffer {
  const p = Buffer.from(path);
  if (p.length > 107) throw new SysError('bind', 36 /* ENAMETOOLONG */);
  const b = Buffer.alloc(2 + 108);
  b.writeUInt16LE(AF_UNIX, 0);
  p.copy(b, 2);
  return b;
}

/**
 * A listening socket at `path`, created under a temporary name and renamed
 * into place, so a client never finds a bound but not yet listening socket.
 * Non-blocking (children poll and race for accept), close-on-exec.
 */
export function listenUnix(path: string, backlog = 128): number {
  const l = lib();
  const fd = check('socket', () => l.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const addr = sockaddrUn(tmp);
    check('bind', () => l.bind(fd, addr, addr.length));
    check('listen', () => l.listen(fd, backlog));
    check('rename', () => l.rename(tmp, path));
    return fd;
  } catch (e) {
    l.close(fd);
    throw e;
  }
}

/** accept4 on a non-blocking listener: the new fd, or -1 when another child won the race. */
export function acceptConn(listenFd: number): number {
  const l = lib();
  try {
    return check('accept4', () => l.accept4(listenFd, null, null, SOCK_CLOEXEC));
  } catch (e) {
    if (e instanceof SysError && (e.errno === 11 || e.errno === 103 /* ECONNABORTED */)) return -1;
    throw e;
  }
}

/** poll() the fds for input; returns each fd's revents. timeoutMs < 0 waits forever. */
export function pollIn(fds: number[], timeoutMs: number): number[] {
  return pollFor(fds, POLLIN, timeoutMs);
}

/** poll() the fds for `events` (POLLIN, POLLOUT); returns each fd's revents. */
export function pollFor(fds: number[], events: number, timeoutMs: number): number[] {
  const l = lib();
  const b = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    b.writeInt32LE(fd, i * 8);
    b.writeInt16LE(events, i * 8 + 4);
  });
  check('poll', () => l.poll(b, fds.length, timeoutMs));
  return fds.map((_, i) => b.readInt16LE(i * 8 + 6));
}

/**
 * One recvmsg: data into `buf` and any SCM_RIGHTS fds (received close-on-exec).
 * Returns 0 bytes at EOF.
 */
export function recvWithFds(fd: number, buf: Buffer): { n: number; fds: number[]; truncated: boolean } {
  const l = lib();
  const k = koffi!;
  const control = Buffer.alloc(256);
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(k.address(buf), 0);
  iov.writeBigUInt64LE(BigInt(buf.length), 8);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(k.address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(k.address(control), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  const n = check('recvmsg', () => l.recvmsg(fd, msg, MSG_CMSG_CLOEXEC));
  const controllen = Number(msg.readBigUInt64LE(40));
  const flags = msg.readInt32LE(48);
  const fds: number[] = [];
  let off = 0;
  while (off + 16 <= controllen) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < 16) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += (len + 7) & ~7;
  }
  return { n, fds, truncated: (flags & 0x8) !== 0 /* MSG_CTRUNC */ };
}

export function readFd(fd: number, buf: Buffer): number {
  const l = lib();
  return check('read', () => l.read(fd, buf, buf.length));
}

export function writeAll(fd: number, data: Buffer): void {
  const l = lib();
  let off = 0;
  while (off < data.length) {
    const part = data.subarray(off);
    off += check('write', () => l.write(fd, part, part.length));
  }
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

export function dup2(from: number, to: number): void {
  const l = lib();
  check('dup2', () => l.dup2(from, to));
}

export function fchdir(fd: number): void {
  const l = lib();
  check('fchdir', () => l.fchdir(fd));
}

/** A close-on-exec duplicate of `fd` (above 9, clear of stdio and the pool's fds 3 and 4). */
export function dupCloexec(fd: number): number {
  const l = lib();
  return check('fcntl', () => l.fcntl(fd, F_DUPFD_CLOEXEC, 10));
}

/** A terminal's size (TIOCGWINSZ), or undefined when `fd` is not one. */
export function windowSize(fd: number): { columns: number; rows: number } | undefined {
  const l = lib();
  const ws = Buffer.alloc(8);
  if (Number(l.ioctl(fd, TIOCGWINSZ, ws)) < 0) return undefined;
  return { rows: ws.readUInt16LE(0), columns: ws.readUInt16LE(2) };
}

/** IN_ATTRIB: a watched file's metadata changed, its link count too (an unlink). */
export const IN_ATTRIB = 0x4;

/** A non-blocking, close-on-exec inotify instance. */
export function inotifyInit(): number {
  const l = lib();
  return check('inotify_init1', () => l.inotifyInit1(SOCK_NONBLOCK | SOCK_CLOEXEC));
}

export function inotifyAddWatch(fd: number, path: string, mask: number): number {
  const l = lib();
  return check('inotify_add_watch', () => l.inotifyAddWatch(fd, path, mask));
}

/** Read and drop whatever is pending on a non-blocking fd. */
export function drain(fd: number): void {
  const l = lib();
  const b = Buffer.alloc(4096);
  while (Number(l.read(fd, b, b.length)) > 0);
}

export function setCloexec(fd: number): void {
  const l = lib();
  check('fcntl', () => l.fcntl(fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */));
}

export function getFlags(fd: number): number {
  const l = lib();
  return check('fcntl', () => l.fcntl(fd, F_GETFL, 0));
}

export function setFlags(fd: number, flags: number): void {
  const l = lib();
  check('fcntl', () => l.fcntl(fd, F_SETFL, flags));
}

/** Non-blocking exclusive flock: false when another process holds it. */
export function tryLock(fd: number): boolean {
  const l = lib();
  try {
    check('flock', () => l.flock(fd, LOCK_EX | LOCK_NB));
    return true;
  } catch (e) {
    if (e instanceof SysError && e.errno === 11) return false;
    throw e;
  }
}

/** Signal to receive when the parent dies (0 clears it). */
export function setParentDeathSignal(sig: number): void {
  const l = lib();
  check('prctl', () => l.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0));
}

/** SO_PEERCRED of a connected Unix socket. */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const l = lib();
  const buf = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12, 0);
  check('getsockopt', () => l.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len));
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}

/**
 * File system ⇄ NAR (libutil/archive.cc `dumpPath`/`restorePath`, hash.cc
 * `hashPath`).
 *
 * Dumping mirrors Nix: the top object is read with lstat (a symlink is
 * archived, never followed), only the owner-execute bit is kept, other file
 * types are refused. Names are handled as raw bytes (Buffer paths), so
 * non-UTF-8 names survive. IO is synchronous with one large reused buffer:
 * measured, this beats async IO by a wide margin for trees of small files,
 * and hashing stays at one copy per byte.
 */
import {
  closeSync, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, readlinkSync, symlinkSync, writeSync,
  constants as C, type Dirent,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { MessageChannel, Worker } from 'node:worker_threads';
import { NixError, CoreErrorCode } from '../core/index.js';
import {
  ByteReader, FormatsErrorCode, HASH_SIZES, Hash, narChunks, parseNar,
  type HashType, type NarDirEntry, type NarNode, type NarRegular, type NarVisitor,
} from '../formats/index.js';

const SLASH = Buffer.from('/');

/** Nix's `SysError` text for the errno codes a dump or restore can meet. */
export function sysErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const texts: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EEXIST: 'File exists',
    ENOTDIR: 'Not a directory',
    EISDIR: 'Is a directory',
    ELOOP: 'Too many levels of symbolic links',
    ENOSPC: 'No space left on device',
    EROFS: 'Read-only file system',
    ENAMETOOLONG: 'File name too long',
    EPERM: 'Operation not permitted',
    ENOTEMPTY: 'Directory not empty',
  };
  return (code && texts[code]) ?? (e as Error)?.message ?? String(e);
}

export function ioError(what: string, path: Buffer | string, e: unknown): NixError {
  return new NixError(CoreErrorCode.E_IO, `${what} '${path.toString()}': ${sysErrorText(e)}`, { cause: e });
}

/** 2.8's error when a NAR's symlink cannot be created at `path`. */
export function symlinkError(path: Buffer, target: Uint8Array, e: unknown): NixError {
  return new NixError(CoreErrorCode.E_IO, `creating symlink from '${path.toString()}' to '${Buffer.from(target).toString()}': ${sysErrorText(e)}`, { cause: e });
}

/** Where a NAR entry (its path as name components) goes under `root`. */
export function narEntryPath(root: Buffer, path: readonly Uint8Array[]): Buffer {
  if (path.length === 0) return root;
  const parts: Uint8Array[] = [root];
  for (const p of path) parts.push(SLASH, p);
  return Buffer.concat(parts);
}

function toBuf(p: string | Uint8Array): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function regularNode(path: Buffer, fd: number, size: number, mode: number): NarRegular {
  let open = true;
  return {
    type: 'regular',
    executable: (mode & C.S_IXUSR) !== 0,
    size,
    read(into) {
      try {
        return readSync(fd, into, 0, into.length, null);
      } catch (e) {
        throw ioError('reading file', path, e);
      }
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function openRegular(path: Buffer): NarNode {
  let fd: number;
  try {
    fd = openSync(path, C.O_RDONLY | C.O_NOFOLLOW);
  } catch (e) {
    throw ioError('opening file', path, e);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    return fsNode(path);
  }
  return regularNode(path, fd, st.size, st.mode);
}

function directoryNode(path: Buffer, filter?: DumpFilter): NarNode {
  return {
    type: 'directory',
    entries(): NarDirEntry[] {
      let list: Dirent[];
      try {
        list = readdirSync(path, { withFileTypes: true, encoding: 'buffer' }) as unknown as Dirent[];
      } catch (e) {
        throw ioError('opening directory', path, e);
      }
      const out: NarDirEntry[] = [];
      for (const d of list) {
        const name = d.name as unknown as Buffer;
        const child = Buffer.concat([path, SLASH, name]);
        if (filter && !filter(child.toString(), direntType(d))) continue;
        out.push({ name, node: () => entryNode(child, d, filter) });
      }
      return out;
    },
  };
}

/** `PathFilter` of Nix's `dumpPath`: decides per entry (never for the top path) whether it is archived. */
export type DumpFilter = (path: string, type: 'regular' | 'directory' | 'symlink' | 'unknown') => boolean;

function direntType(d: Dirent): 'regular' | 'directory' | 'symlink' | 'unknown' {
  return d.isFile() ? 'regular' : d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'unknown';
}

/** Use the directory entry's type to skip an lstat where it is safe. */
function entryNode(path: Buffer, d: Dirent, filter?: DumpFilter): NarNode {
  if (d.isFile()) return openRegular(path);
  if (d.isDirectory()) return directoryNode(path, filter);
  if (d.isSymbolicLink()) return symlinkNode(path);
  return fsNode(path, filter);
}

function symlinkNode(path: Buffer): NarNode {
  try {
    return { type: 'symlink', target: readlinkSync(path, { encoding: 'buffer' }) };
  } catch (e) {
    throw ioError('reading symbolic link', path, e);
  }
}

/** The NAR view of a file-system object (lstat: symlinks are not followed). */
export function fsNode(fsPath: string | Uint8Array, filter?: DumpFilter): NarNode {
  const path = toBuf(fsPath);
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    throw ioError('getting status of', path, e);
  }
  if (st.isFile()) return openRegular(path);
  if (st.isDirectory()) return directoryNode(path, filter);
  if (st.isSymbolicLink()) return symlinkNode(path);
  throw new NixError(FormatsErrorCode.E_NAR_INVALID, `file '${path.toString()}' has an unsupported type`);
}

/** `nix-store --dump`: the NAR of a path as a stream of fresh (owned) chunks. */
export async function* dumpPath(fsPath: string | Uint8Array, chunkSize = 1 << 20, filter?: DumpFilter): AsyncIterable<Uint8Array> {
  yield* narChunks(fsNode(fsPath, filter), { chunkSize, reuseBuffer: false });
}

/** The same NAR, synchronously, with one reused buffer: consume each chunk before the next. */
export function dumpPathSync(fsPath: string | Uint8Array, chunkSize = 1 << 20, filter?: DumpFilter): Iterable<Uint8Array> {
  return narChunks(fsNode(fsPath, filter), { chunkSize, reuseBuffer: true });
}

export interface PathHash {
  hash: Hash;
  narSize: number;
}

/**
 * `hashPath`: hash of the NAR serialisation, without materialising it.
 *
 * Large trees are hashed on a worker thread while this thread walks and
 * reads the tree (Nix does both in turn), through a ring of shared buffers
 * the NAR writer fills directly. The worker is started only once the NAR
 * passes a few MiB, so small paths never pay its start-up.
 */
export function hashPath(fsPath: string | Uint8Array, algo: HashType = 'sha256', filter?: DumpFilter): PathHash {
  return hashNode(fsNode(fsPath, filter), algo);
}

/** `hashPath` over any NAR view (e.g. one that copies what it reads: local/copy-hashed.ts). */
export function hashNode(node: NarNode, algo: HashType = 'sha256'): PathHash {
  const ring = new HashRing(algo);
  let narSize = 0;
  try {
    for (const chunk of narChunks(node, { allocate: () => ring.acquire() })) {
      ring.publish(chunk.length);
      narSize += chunk.length;
    }
  } catch (e) {
    ring.abort();
    throw e;
  }
  return { hash: new Hash(algo, ring.finish()), narSize };
}

const SLOT_SIZE = 1 << 20;
/**
 * Most buffers in flight (MiB the walk may run ahead of the hasher). A big
 * lead lets the walk get through syscall-bound stretches of small files
 * while the hasher is still busy with earlier big ones; buffers are made
 * only while the walk is ahead, and reused.
 */
const MAX_BUFFERS = 128;
/** Start the worker once this many chunks are waiting. */
const WORKER_AFTER = 4;
/** When every buffer is in flight, sleep until this many are back (fewer wake-ups). */
const REFILL = 16;
const Q = MAX_BUFFERS + 1;
// The queue and free list hold at most MAX_BUFFERS entries, early chunks included.
if (WORKER_AFTER > MAX_BUFFERS) throw new Error('Assertion failed: WORKER_AFTER <= MAX_BUFFERS');
// ctl layout (Int32): queue head, queue tail (hasher), free-list head (hasher), wanted free head, state
const HEAD = 0;
const FHEAD = 1;
const WANT = 2;
const STATE = 3;
const CTL_SIZE = 4;
const WAIT_LIMIT_MS = 120_000;

/* Runs in the worker (CommonJS eval). The queue holds (buffer id, length)
 * pairs; id -1 ends the stream. Buffers made after start arrive on the port.
 * Hashed buffers go back on the free list. state: 1 = digest ready,
 * 2 = failed, 3 = abandoned by the walk. */
const WORKER_SOURCE = `
const { workerData: d, receiveMessageOnPort } = require('node:worker_threads');
const ctl = new Int32Array(d.ctl), q = new Int32Array(d.queue), free = new Int32Array(d.free), out = new Uint8Array(d.out);
const bufs = d.bufs.map((s) => new Uint8Array(s));
const [HEAD, FHEAD, WANT, STATE, Q] = d.consts;
try {
  const h = require('node:crypto').createHash(d.algo);
  let aborted = false;
  for (let tail = 0, fhead = 0;; tail++) {
    let head;
    while ((head = Atomics.load(ctl, HEAD)) === tail) {
      if (Atomics.load(ctl, STATE) === 3) { aborted = true; break; }
      Atomics.wait(ctl, HEAD, head, 50);
    }
    if (aborted) break;
    const id = q[2 * (tail % Q)], n = q[2 * (tail % Q) + 1];
    if (id < 0) break;
    while (bufs[id] === undefined) {
      const m = receiveMessageOnPort(d.port);
      if (m) bufs[m.message.id] = new Uint8Array(m.message.sab);
    }
    h.update(n === bufs[id].length ? bufs[id] : bufs[id].subarray(0, n));
    free[fhead % Q] = id;
    Atomics.store(ctl, FHEAD, ++fhead);
    if (fhead >= Atomics.load(ctl, WANT)) Atomics.notify(ctl, FHEAD);
  }
  if (!aborted) {
    out.set(h.digest());
    Atomics.store(ctl, STATE, 1);
  }
} catch (e) {
  Atomics.store(ctl, STATE, 2);
}
Atomics.notify(ctl, STATE);
`;

/**
 * The walk (this thread) fills buffers and queues them; a worker hashes
 * them in order and hands them back. Before the worker exists, chunks are
 * only collected, and a path that ends early is hashed right here.
 */
class HashRing {
  private readonly bufs: SharedArrayBuffer[] = [];
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4 * CTL_SIZE));
  private readonly queue = new Int32Array(new SharedArrayBuffer(8 * Q));
  private readonly free = new Int32Array(new SharedArrayBuffer(4 * Q));
  private readonly out = new SharedArrayBuffer(64);
  private readonly early: [number, number][] = [];
  private head = 0;
  private ftail = 0;
  private current = -1;
  private worker: Worker | undefined;
  private channel: MessageChannel | undefined;

  constructor(private readonly algo: HashType) {}

  acquire(): Uint8Array {
    this.current = this.takeBuffer();
    return new Uint8Array(this.bufs[this.current]!);
  }

  private takeBuffer(): number {
    if (this.worker === undefined || this.bufs.length < MAX_BUFFERS) {
      if (this.worker !== undefined && this.ftail < Atomics.load(this.ctl, FHEAD)) return this.free[this.ftail++ % Q]!;
      const id = this.bufs.length;
      this.bufs.push(new SharedArrayBuffer(SLOT_SIZE));
      this.channel?.port1.postMessage({ id, sab: this.bufs[id] });
      return id;
    }
    if (this.ftail >= Atomics.load(this.ctl, FHEAD)) {
      // Wake when REFILL are back, or all in flight if fewer remain (else no notify would come).
      const want = Math.min(this.ftail + REFILL, this.head);
      Atomics.store(this.ctl, WANT, want);
      this.waitWhile(FHEAD, (v) => v < want);
    }
    return this.free[this.ftail++ % Q]!;
  }

  publish(n: number): void {
    if (n === 0) return;
    if (this.worker === undefined) {
      this.early.push([this.current, n]);
      if (this.early.length >= WORKER_AFTER) this.startWorker();
      return;
    }
    this.enqueue(this.current, n);
  }

  private enqueue(id: number, n: number): void {
    const at = 2 * (this.head % Q);
    this.queue[at] = id;
    this.queue[at + 1] = n;
    Atomics.store(this.ctl, HEAD, ++this.head);
    Atomics.notify(this.ctl, HEAD);
  }

  finish(): Uint8Array {
    if (this.worker === undefined) return this.hashHere();
    this.enqueue(-1, 0);
    this.waitWhile(STATE, (v) => v === 0);
    this.stop();
    if (this.ctl[STATE] !== 1) throw new Error('Assertion failed: hashing worker failed');
    return new Uint8Array(this.out.slice(0, HASH_SIZES[this.algo]));
  }

  /** The walk failed: let the worker exit. */
  abort(): void {
    if (this.worker === undefined) return;
    Atomics.store(this.ctl, STATE, 3);
    Atomics.notify(this.ctl, HEAD);
    this.stop();
  }

  private stop(): void {
    void this.worker?.terminate();
    this.channel?.port1.close();
  }

  /** Few chunks: hash them in order on this thread. */
  private hashHere(): Uint8Array {
    const h = createHash(this.algo);
    for (const [id, n] of this.early) h.update(new Uint8Array(this.bufs[id]!, 0, n));
    return new Uint8Array(h.digest());
  }

  private startWorker(): void {
    this.channel = new MessageChannel();
    const workerData = {
      ctl: this.ctl.buffer, queue: this.queue.buffer, free: this.free.buffer, out: this.out, bufs: [...this.bufs],
      port: this.channel.port2, algo: this.algo, consts: [HEAD, FHEAD, WANT, STATE, Q],
    };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData, transferList: [this.channel.port2] });
    this.worker.unref();
    this.channel.port1.unref();
    for (const [id, n] of this.early.splice(0)) this.enqueue(id, n);
  }

  private waitWhile(index: number, busy: (v: number) => boolean): void {
    const start = Date.now();
    for (let v = Atomics.load(this.ctl, index); busy(v); v = Atomics.load(this.ctl, index)) {
      if (this.ctl[STATE] === 2) throw new Error('Assertion failed: hashing worker failed');
      if (Date.now() - start > WAIT_LIMIT_MS) throw new Error('Assertion failed: hashing worker stalled');
      Atomics.wait(this.ctl, index, v, 1000);
    }
  }
}

/** Several hashes of one NAR in a single pass (e.g. sha256 for narHash plus the CA algo). */
export function hashPathMulti(fsPath: string | Uint8Array, algos: readonly HashType[]): { hashes: Hash[]; narSize: number } {
  const hs = algos.map((a) => createHash(a));
  let narSize = 0;
  for (const chunk of dumpPathSync(fsPath)) {
    for (const h of hs) h.update(chunk);
    narSize += chunk.length;
  }
  return { hashes: hs.map((h, i) => new Hash(algos[i]!, new Uint8Array(h.digest()))), narSize };
}

/** `hashFile`: flat hash of a file's contents (follows symlinks, as Nix's readFile does). */
export function hashFile(fsPath: string | Uint8Array, algo: HashType = 'sha256'): Hash {
  const path = toBuf(fsPath);
  const h = createHash(algo);
  let fd: number;
  try {
    fd = openSync(path, C.O_RDONLY);
  } catch (e) {
    throw ioError('opening file', path, e);
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // Nix's text here names no path (`readFull`'s SysError).
        throw new NixError(CoreErrorCode.E_IO, `reading from file: ${sysErrorText(e)}`, { cause: e });
      }
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return new Hash(algo, new Uint8Array(h.digest()));
}

/**
 * `nix-store --restore` / `restorePath`: unpack one NAR at `dir`, which must
 * not exist. The parser rejects malformed archives before anything unsafe is
 * created: names cannot contain `/` or be `.`/`..`, entries are unique, and
 * every file is created with O_EXCL|O_NOFOLLOW inside directories this
 * restore made itself, so nothing is ever written outside `dir`. Returns the
 * reader so a caller can continue with bytes after the NAR.
 */
export async function restorePath(dir: string, nar: AsyncIterable<Uint8Array> | ByteReader): Promise<ByteReader> {
  const v = new RestoreVisitor(Buffer.from(dir, 'utf8'));
  try {
    return await parseNar(nar, v);
  } finally {
    v.abort();
  }
}

class RestoreVisitor implements NarVisitor {
  private fd = -1;
  private filePath: Buffer = Buffer.alloc(0);
  private executable = false;

  constructor(private readonly root: Buffer) {}

  directory(path: readonly Uint8Array[]): void {
    const p = narEntryPath(this.root, path);
    try {
      mkdirSync(p, 0o777);
    } catch (e) {
      throw ioError('creating directory', p, e);
    }
  }

  fileStart(path: readonly Uint8Array[], executable: boolean): void {
    const p = narEntryPath(this.root, path);
    try {
      this.fd = openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o666);
    } catch (e) {
      throw ioError('creating file', p, e);
    }
    this.filePath = p;
    this.executable = executable;
  }

  fileData(chunk: Uint8Array): void {
    try {
      for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off, chunk.length - off);
    } catch (e) {
      this.closeFile();
      throw ioError('writing to file', this.filePath, e);
    }
  }

  fileEnd(): void {
    if (this.executable) fchmodSync(this.fd, fstatSync(this.fd).mode | 0o111);
    this.closeFile();
  }

  private closeFile(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  symlink(path: readonly Uint8Array[], target: Uint8Array): void {
    const p = narEntryPath(this.root, path);
    try {
      symlinkSync(Buffer.from(target), p);
    } catch (e) {
      throw symlinkError(p, target, e);
    }
  }

  /** Close an open file if parsing failed midway. */
  abort(): void {
    this.closeFile();
  }
}

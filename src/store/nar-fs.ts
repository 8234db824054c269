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
import { Worker } from 'node:worker_threads';
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

function ioError(what: string, path: Buffer | string, e: unknown): NixError {
  return new NixError(CoreErrorCode.E_IO, `${what} '${path.toString()}': ${sysErrorText(e)}`, { cause: e });
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
  const ring = new HashRing(algo);
  let narSize = 0;
  try {
    for (const chunk of narChunks(fsNode(fsPath, filter), { allocate: () => ring.acquire() })) {
      ring.publish(chunk.length);
      narSize += chunk.length;
    }
  } catch (e) {
    ring.abort();
    throw e;
  }
  return { hash: new Hash(algo, ring.finish()), narSize };
}

const RING_SLOTS = 32;
const SLOT_SIZE = 1 << 20;
/** Start the worker once this many slots are waiting. */
const WORKER_AFTER = 4;
const DONE = RING_SLOTS;
const WAIT_LIMIT_MS = 120_000;
/** Busy-poll this many times before sleeping (0: measured best when other processes compete for the cores). */
const SPIN = 0;

/* Runs in the worker (CommonJS eval). ctl[i] > 0: slot i holds that many
 * bytes; -1: end of stream. ctl[DONE] 1 = digest ready, 2 = failed, 3 = abandoned. */
const WORKER_SOURCE = `
const { workerData: d } = require('node:worker_threads');
const ctl = new Int32Array(d.ctl), slots = d.slots.map((s) => new Uint8Array(s)), out = new Uint8Array(d.out);
try {
  const h = require('node:crypto').createHash(d.algo);
  let aborted = false;
  ring: for (let i = 0;; i = (i + 1) % slots.length) {
    for (let s = 0; s < d.spin && Atomics.load(ctl, i) === 0; s++);
    while (Atomics.load(ctl, i) === 0) {
      if (Atomics.load(ctl, d.done) === 3) { aborted = true; break ring; }
      Atomics.wait(ctl, i, 0, 50);
    }
    const n = Atomics.load(ctl, i);
    if (n < 0) break;
    h.update(slots[i].subarray(0, n));
    Atomics.store(ctl, i, 0);
    Atomics.notify(ctl, i);
  }
  if (!aborted) {
    out.set(h.digest());
    Atomics.store(ctl, d.done, 1);
  }
} catch (e) {
  Atomics.store(ctl, d.done, 2);
}
Atomics.notify(ctl, d.done);
`;

class HashRing {
  /** One buffer per slot, made on first use: a small path costs one slot, not the ring. */
  private readonly slots: (SharedArrayBuffer | undefined)[] = new Array(RING_SLOTS).fill(undefined);
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4 * (RING_SLOTS + 1)));
  private readonly out = new SharedArrayBuffer(64);
  /** Slots filled before the worker exists, in order. */
  private readonly early: number[] = [];
  private next = 0;
  private current = -1;
  private worker: Worker | undefined;

  constructor(private readonly algo: HashType) {}

  acquire(): Uint8Array {
    const i = this.next;
    this.next = (i + 1) % RING_SLOTS;
    if (this.worker !== undefined && Atomics.load(this.ctl, i) !== 0) {
      // The ring is full. Slots drain in order, so once the one half a ring
      // ahead is free, so are all before it: one wake-up per half ring
      // instead of one per chunk (each costs a vCPU wake-up).
      this.waitWhile((i + RING_SLOTS / 2 - 1) % RING_SLOTS, (v) => v !== 0);
      this.waitWhile(i, (v) => v !== 0);
    }
    this.current = i;
    return new Uint8Array((this.slots[i] ??= new SharedArrayBuffer(SLOT_SIZE)));
  }

  publish(n: number): void {
    if (n === 0) return;
    Atomics.store(this.ctl, this.current, n);
    if (this.worker !== undefined) Atomics.notify(this.ctl, this.current);
    else {
      this.early.push(this.current);
      if (this.early.length >= WORKER_AFTER) this.startWorker();
    }
  }

  finish(): Uint8Array {
    if (this.worker === undefined) return this.hashHere();
    const end = this.next;
    this.waitWhile(end, (v) => v !== 0);
    Atomics.store(this.ctl, end, -1);
    Atomics.notify(this.ctl, end);
    this.waitWhile(DONE, (v) => v === 0);
    void this.worker.terminate();
    if (this.ctl[DONE] !== 1) throw new Error('Assertion failed: hashing worker failed');
    return new Uint8Array(this.out.slice(0, HASH_SIZES[this.algo]));
  }

  /** The walk failed: let the worker exit. */
  abort(): void {
    if (this.worker === undefined) return;
    Atomics.store(this.ctl, DONE, 3);
    for (let i = 0; i < RING_SLOTS; i++) Atomics.notify(this.ctl, i);
    void this.worker.terminate();
  }

  /** Few chunks: hash them in order on this thread. */
  private hashHere(): Uint8Array {
    const h = createHash(this.algo);
    for (const i of this.early) h.update(new Uint8Array(this.slots[i]!, 0, this.ctl[i]!));
    return new Uint8Array(h.digest());
  }

  private startWorker(): void {
    for (let i = 0; i < RING_SLOTS; i++) this.slots[i] ??= new SharedArrayBuffer(SLOT_SIZE);
    const workerData = { ctl: this.ctl.buffer, slots: this.slots, out: this.out, algo: this.algo, done: DONE, spin: SPIN };
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    this.worker.unref();
  }

  private waitWhile(index: number, busy: (v: number) => boolean): void {
    const start = Date.now();
    for (let s = 0; s < SPIN && busy(Atomics.load(this.ctl, index)); s++);
    for (let v = Atomics.load(this.ctl, index); busy(v); v = Atomics.load(this.ctl, index)) {
      if (this.ctl[DONE] === 2) throw new Error('Assertion failed: hashing worker failed');
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

  private full(path: readonly Uint8Array[]): Buffer {
    if (path.length === 0) return this.root;
    const parts: Uint8Array[] = [this.root];
    for (const p of path) parts.push(SLASH, p);
    return Buffer.concat(parts);
  }

  directory(path: readonly Uint8Array[]): void {
    const p = this.full(path);
    try {
      mkdirSync(p, 0o777);
    } catch (e) {
      throw ioError('creating directory', p, e);
    }
  }

  fileStart(path: readonly Uint8Array[], executable: boolean): void {
    const p = this.full(path);
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
    const p = this.full(path);
    try {
      symlinkSync(Buffer.from(target), p);
    } catch (e) {
      throw new NixError(CoreErrorCode.E_IO, `creating symlink from '${p.toString()}' to '${Buffer.from(target).toString()}': ${sysErrorText(e)}`, { cause: e });
    }
  }

  /** Close an open file if parsing failed midway. */
  abort(): void {
    this.closeFile();
  }
}

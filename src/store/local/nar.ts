/**
 * NAR → file system for adds from a stream (`addToStore` recursive,
 * `addToStoreNar`, `--import`), hashing as it goes (local-store.cc
 * `addToStore(info, source)` tees the NAR into its hash sink the same way).
 *
 * The parser is the formats team's strict `parseNar`, which accepts only
 * canonical archives, so the NAR's bytes are exactly what re-serialising the
 * parsed tree gives: the hash is taken from the parse events (no second pass
 * over the restored files), and it covers the NAR alone, whatever bytes
 * follow it in the stream. Files, symlinks and directories are created with
 * their canonical metadata (mode 0444/0555, mtime 1), so no walk is needed
 * before the rename. A NAR that is one small regular file is kept in memory
 * instead: the caller writes it under its final name once it holds the lock.
 */
import {
  chmodSync, closeSync, fchmodSync, futimesSync, lutimesSync, mkdirSync, openSync, symlinkSync, utimesSync, writeSync, constants as C,
} from 'node:fs';
import { ByteReader, HashSink, parseNar, writeU64, type Hash, type HashType, type NarVisitor } from '../../formats/index.js';
import { ioError, narEntryPath, symlinkError } from '../nar-fs.js';
import { digestOf } from './add-to-store.js';

export interface RestoredNar {
  narHash: Hash;
  narSize: number;
  /** The NAR hashed with the requested algorithm (equals narHash for sha256). */
  caHash: Hash;
  /** Set when the NAR was a single regular file of at most `inMemoryMax` bytes: nothing was written. */
  inMemory?: { contents: Uint8Array; executable: boolean };
}

/**
 * Restore one NAR from `source` at `target` (which must not exist), with
 * canonical metadata; with `inMemoryMax`, a NAR that is a single regular file
 * up to that size stays in memory.
 */
export async function restoreNarHashed(
  target: string,
  source: AsyncIterable<Uint8Array> | ByteReader,
  caAlgo: HashType,
  opts: { inMemoryMax?: number } = {},
): Promise<RestoredNar> {
  const algos: HashType[] = caAlgo === 'sha256' ? ['sha256'] : ['sha256', caAlgo];
  const hasher = new NarHasher(algos);
  const restore = new CanonicalRestore(target, opts.inMemoryMax ?? -1);
  const v = new HashingVisitor(hasher, restore);
  try {
    await parseNar(source, v);
    v.end();
    restore.finish();
  } finally {
    restore.abort();
  }
  const hashes = hasher.finish();
  return { narHash: hashes[0]!, narSize: hasher.size, caHash: hashes[algos.length - 1]!, inMemory: restore.inMemory };
}

/** Parse and drop one NAR (an add of a path that is already valid still reads its NAR). */
export async function skipNar(source: ByteReader): Promise<void> {
  const nothing = (): void => undefined;
  await parseNar(source, { directory: nothing, fileStart: nothing, fileData: nothing, fileEnd: nothing, symlink: nothing });
}

// ---- hashing: the canonical NAR bytes, from the parse events -----------------

/** `str(s)` of the NAR format: u64 LE length, the bytes, zero padding to 8. */
function narString(s: string): Uint8Array {
  const b = Buffer.from(s, 'latin1');
  const out = new Uint8Array(8 + b.length + ((8 - (b.length % 8)) % 8));
  new DataView(out.buffer).setUint32(0, b.length, true);
  out.set(b, 8);
  return out;
}
const T = {
  magic: narString('nix-archive-1'), open: narString('('), close: narString(')'), type: narString('type'),
  regular: narString('regular'), directory: narString('directory'), symlink: narString('symlink'),
  executable: narString('executable'), empty: narString(''), contents: narString('contents'), target: narString('target'),
  entry: narString('entry'), name: narString('name'), node: narString('node'),
};
const ZEROS = new Uint8Array(8);

/**
 * Hash sinks behind a small buffer: tokens are gathered and hashed in
 * batches, and a NAR that fits the buffer is hashed in one call.
 */
class NarHasher {
  size = 0;
  /** From a small pool (`finish` gives it back): a buffer of its own per add was GC load. */
  private buf = spareBuffers.pop() ?? new Uint8Array(1024);
  private len = 0;
  private sinks: HashSink[] | undefined;
  private static readonly MAX_BUF = 64 * 1024;

  constructor(private readonly algos: readonly HashType[]) {}

  put(b: Uint8Array): void {
    this.size += b.length;
    if (this.len + b.length > this.buf.length) {
      if (this.len + b.length <= NarHasher.MAX_BUF) {
        const bigger = new Uint8Array(Math.min(NarHasher.MAX_BUF, Math.max(this.buf.length * 2, this.len + b.length)));
        bigger.set(this.buf.subarray(0, this.len));
        this.buf = bigger;
      } else {
        this.flush();
        if (b.length > this.buf.length) {
          for (const s of this.sinks!) s.update(b);
          return;
        }
      }
    }
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  u64(n: number): void {
    if (this.len + 8 > this.buf.length) {
      const b = new Uint8Array(8);
      writeU64(b, 0, n);
      this.put(b);
      return;
    }
    // Straight into the buffer (the usual case): no array per number.
    writeU64(this.buf, this.len, n);
    this.len += 8;
    this.size += 8;
  }

  bytes(b: Uint8Array): void {
    this.u64(b.length);
    this.put(b);
    this.pad(b.length);
  }

  pad(n: number): void {
    const p = (8 - (n % 8)) % 8;
    if (p > 0) this.put(ZEROS.subarray(0, p));
  }

  private flush(): void {
    this.sinks ??= this.algos.map((a) => new HashSink(a));
    if (this.len > 0) for (const s of this.sinks) s.update(this.buf.subarray(0, this.len));
    this.len = 0;
  }

  /** One hash per algorithm, in an array built the same way on both paths (one array shape for the caller's code). */
  finish(): Hash[] {
    const out: Hash[] = [];
    if (this.sinks === undefined) {
      for (const a of this.algos) out.push(digestOf(a, this.buf.subarray(0, this.len)));
    } else {
      this.flush();
      for (const s of this.sinks) out.push(s.finish());
    }
    // Hashed synchronously above, so nothing refers to the buffer any more.
    if (spareBuffers.length < 16 && this.buf.length <= 4096) spareBuffers.push(this.buf);
    this.buf = EMPTY;
    this.len = 0;
    return out;
  }
}
const spareBuffers: Uint8Array[] = [];
const EMPTY = new Uint8Array(0);

/**
 * Feeds the NAR tokens of each parse event to the hasher, then passes the
 * event on. The parser reports no directory or entry ends; they follow from
 * the depth of the next event (and `end()` closes what is left).
 */
class HashingVisitor implements NarVisitor {
  private started = false;
  /** Depths of the directories still open. */
  private readonly openDirs: number[] = [];
  private depth = 0;
  private fileSize = 0;

  constructor(private readonly h: NarHasher, private readonly inner: CanonicalRestore) {}

  private begin(path: readonly Uint8Array[]): void {
    if (!this.started) {
      this.started = true;
      this.h.put(T.magic);
    }
    this.closeTo(path.length);
    if (path.length > 0) {
      this.h.put(T.entry);
      this.h.put(T.open);
      this.h.put(T.name);
      this.h.bytes(path[path.length - 1]!);
      this.h.put(T.node);
    }
    this.depth = path.length;
    this.h.put(T.open);
    this.h.put(T.type);
  }

  /** Close every open directory at depth ≥ `d` (and the entry holding it). */
  private closeTo(d: number): void {
    while (this.openDirs.length > 0 && this.openDirs[this.openDirs.length - 1]! >= d) {
      const dd = this.openDirs.pop()!;
      this.h.put(T.close);
      if (dd > 0) this.h.put(T.close);
    }
  }

  /** Close a non-directory node (and its entry). */
  private closeLeaf(): void {
    this.h.put(T.close);
    if (this.depth > 0) this.h.put(T.close);
  }

  directory(path: readonly Uint8Array[]): void {
    this.begin(path);
    this.h.put(T.directory);
    this.openDirs.push(path.length);
    this.inner.directory(path);
  }

  fileStart(path: readonly Uint8Array[], executable: boolean, size: number): void {
    this.begin(path);
    this.h.put(T.regular);
    if (executable) {
      this.h.put(T.executable);
      this.h.put(T.empty);
    }
    this.h.put(T.contents);
    this.h.u64(size);
    this.fileSize = size;
    this.inner.fileStart(path, executable, size);
  }

  fileData(chunk: Uint8Array): void {
    this.h.put(chunk);
    this.inner.fileData(chunk);
  }

  fileEnd(): void {
    this.h.pad(this.fileSize);
    this.closeLeaf();
    this.inner.fileEnd();
  }

  symlink(path: readonly Uint8Array[], target: Uint8Array): void {
    this.begin(path);
    this.h.put(T.symlink);
    this.h.put(T.target);
    this.h.bytes(target);
    this.closeLeaf();
    this.inner.symlink(path, target);
  }

  end(): void {
    this.closeTo(0);
  }
}

// ---- restoring with canonical metadata ----------------------------------------

/**
 * Creates the tree with its final metadata: files 0444/0555 with mtime 1
 * set through the fd, symlinks with mtime 1, directories made writable and
 * given 0555 and mtime 1 once everything inside them exists (`finish`).
 */
class CanonicalRestore {
  private fd = -1;
  private filePath: Buffer = Buffer.alloc(0);
  private executable = false;
  private readonly dirs: Buffer[] = [];
  private mem: Uint8Array | undefined;
  private memOff = 0;
  inMemory: { contents: Uint8Array; executable: boolean } | undefined;

  /** The target as bytes, made on first use (a small file kept in memory never needs it). */
  private rootBytes: Buffer | undefined;

  constructor(private readonly target: string, private readonly inMemoryMax: number) {}

  private get root(): Buffer {
    return (this.rootBytes ??= Buffer.from(this.target, 'utf8'));
  }

  directory(path: readonly Uint8Array[]): void {
    const p = narEntryPath(this.root, path);
    try {
      mkdirSync(p, 0o755);
    } catch (e) {
      throw ioError('creating directory', p, e);
    }
    this.dirs.push(p);
  }

  fileStart(path: readonly Uint8Array[], executable: boolean, size: number): void {
    this.executable = executable;
    if (path.length === 0 && size <= this.inMemoryMax) {
      this.mem = new Uint8Array(size);
      this.memOff = 0;
      return;
    }
    const p = narEntryPath(this.root, path);
    try {
      this.fd = openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, executable ? 0o555 : 0o444);
    } catch (e) {
      throw ioError('creating file', p, e);
    }
    this.filePath = p;
  }

  fileData(chunk: Uint8Array): void {
    if (this.mem !== undefined) {
      this.mem.set(chunk, this.memOff);
      this.memOff += chunk.length;
      return;
    }
    try {
      for (let off = 0; off < chunk.length;) off += writeSync(this.fd, chunk, off, chunk.length - off);
    } catch (e) {
      this.abort();
      throw ioError('writing to file', this.filePath, e);
    }
  }

  fileEnd(): void {
    if (this.mem !== undefined) {
      this.inMemory = { contents: this.mem, executable: this.executable };
      this.mem = undefined;
      return;
    }
    try {
      fchmodSync(this.fd, this.executable ? 0o555 : 0o444); // whatever the umask took away
      futimesSync(this.fd, 1, 1);
    } catch (e) {
      this.abort();
      throw ioError('setting the metadata of', this.filePath, e);
    }
    this.abort();
  }

  symlink(path: readonly Uint8Array[], target: Uint8Array): void {
    const p = narEntryPath(this.root, path);
    try {
      symlinkSync(Buffer.from(target), p);
      lutimesSync(p, 1, 1);
    } catch (e) {
      throw symlinkError(p, target, e);
    }
  }

  /** Directories last, innermost first: their contents are complete. */
  finish(): void {
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const d = this.dirs[i]!;
      chmodSync(d, 0o555);
      utimesSync(d, 1, 1);
    }
  }

  /** Close an open file (also when parsing failed midway). */
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * `nix-store --add` of a tree: copy a file-system object into the store
 * while computing its NAR hash in the same pass (Nix 2.8 tees `dumpPath`
 * into the hash sink and `restorePath`; local-store.cc `addToStoreFromDump`).
 *
 * This thread walks the source in NAR order and hashes the NAR as the
 * formats writer hands out its chunks. Small files are written here as
 * they are read. Large files are read in 1 MiB blocks at block-aligned
 * offsets; each block is queued for writing through libuv's thread pool as
 * soon as it is read (one write in flight per file, several files at once)
 * and copied into the NAR writer's window, so the writes run beside the
 * hashing instead of after it. Blocks go back to the pool when written; at
 * most `MAX_BLOCKS` are in use, so the walk never runs further ahead. A
 * block is written through the page cache or with O_DIRECT, as measured
 * cheaper during the add (direct-io.ts).
 *
 * The copy is made canonical as it is written (as `canonicalisePathMetaData`
 * would leave it): files get mode 0444/0555 and mtime 1 through their fd,
 * symlinks mtime 1 through lutimes, directories 0555 and mtime 1 once their
 * contents are complete. So the add needs no second walk.
 *
 * Invariant: the hash is of exactly the bytes written (a file that grows is
 * cut at the size the NAR records; one that shrinks fails the add).
 */
import {
  chmodSync, closeSync, fchmodSync, fstatSync, futimesSync, lutimesSync, mkdirSync, openSync, symlinkSync, utimesSync,
  write, writeSync, constants as C,
} from 'node:fs';
import { HashSink, narChunks, type NarNode, type NarRegular } from '../../formats/index.js';
import { fsNode, ioError, type PathHash } from '../nar-fs.js';
import { DIRECT_ALIGN, WriteChooser, allocAligned, type WriteMode } from './direct-io.js';

/** Size of the blocks large files are read into and written from (file offsets are multiples of it). */
const BLOCK = 1 << 20;
/** Blocks in use at most before the walk waits for writes (MiB it may run ahead of them). */
const MAX_BLOCKS = 16;
/** Files up to this size are written by this thread: a thread-pool round trip costs more than the write. */
const SYNC_WRITE_MAX = 128 * 1024;
/** Files from this size may be written with O_DIRECT (direct-io.ts). */
const DIRECT_MIN = 1 << 20;

/** Blocks kept between adds (4 KiB-aligned memory is never freed). */
const spareBlocks: Uint8Array[] = [];

/** One write of a copy: a window of a block. */
interface PendingWrite {
  data: Uint8Array;
  position: number;
  mode: WriteMode;
  /** The block to give back once this (its last) write is done. */
  release?: Uint8Array;
}

/** A copy being written through the thread pool. */
interface OutFile {
  fd: number;
  /** The same file opened with O_DIRECT, once a block is written that way. */
  directFd: number;
  path: Buffer;
  mode: number;
  /** Created with another mode than `mode` (owner-writable, so the O_DIRECT fd can be opened): fchmod at the end. */
  chmod: boolean;
  /** Writes not yet done, the first one in flight: one at a time per file. */
  queue: PendingWrite[];
  /** The walk is done with it: close once the last write lands. */
  ended: boolean;
}

const SLASH = Buffer.from('/');

/**
 * Copy `src` to `dst` (which must not exist), with canonical metadata, and
 * return the copy's NAR hash (sha256) and size, and how many bytes of
 * large files were written each way. `writeMode` forces that way (tests);
 * by default it is measured (direct-io.ts).
 */
export async function copyTreeHashed(
  src: string, dst: string, opts: { writeMode?: WriteMode } = {},
): Promise<PathHash & { written: Record<WriteMode, number> }> {
  const chooser = new WriteChooser(opts.writeMode);
  const c = new TreeCopy(chooser);
  const h = new HashSink('sha256');
  try {
    for (const chunk of narChunks(c.tee(fsNode(src), Buffer.from(dst, 'utf8')), { chunkSize: BLOCK })) {
      h.update(chunk);
      c.throwIfFailed();
      await c.room();
    }
    await c.settled();
    c.throwIfFailed();
    c.finishDirs();
  } catch (e) {
    await c.settled();
    throw e;
  } finally {
    c.giveBackBlocks();
  }
  return { hash: h.finish(), narSize: h.bytes, written: chooser.written };
}

class TreeCopy {
  private readonly free: Uint8Array[] = [];
  private readonly owned: Uint8Array[] = [];
  private readonly dirs: Buffer[] = [];
  private outstanding = 0;
  private wake: (() => void) | undefined;
  private error: unknown;
  /** Whether the umask takes bits from 0444/0555 (looked at on the first file). */
  private needChmod: boolean | undefined;

  constructor(private readonly chooser: WriteChooser) {}

  private acquireBlock(): Uint8Array {
    let b = this.free.pop() ?? spareBlocks.pop();
    if (b === undefined) {
      b = allocAligned(BLOCK);
      if (b === undefined) {
        this.chooser.directOk = false;
        b = new Uint8Array(BLOCK);
      }
    }
    if (!this.owned.includes(b)) this.owned.push(b);
    return b;
  }

  giveBackBlocks(): void {
    if (this.outstanding === 0) spareBlocks.push(...this.owned);
    this.owned.length = 0;
  }

  /** Wait until the walk may take more blocks. */
  async room(): Promise<void> {
    while (this.owned.length - this.free.length >= MAX_BLOCKS - 1 && this.error === undefined) await this.nextEvent();
  }
  /** Wait until nothing is in flight (also after a failure: no fd is left open). */
  async settled(): Promise<void> {
    while (this.outstanding > 0) await this.nextEvent();
  }

  throwIfFailed(): void {
    if (this.error !== undefined) throw this.error;
  }

  private nextEvent(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Directories last, innermost first: their contents are complete. */
  finishDirs(): void {
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const d = this.dirs[i]!;
      try {
        chmodSync(d, 0o555);
        utimesSync(d, 1, 1);
      } catch (e) {
        throw ioError('setting the metadata of', d, e);
      }
    }
  }

  /** The NAR view of the source that also creates the copy as it is read. */
  tee(node: NarNode, dst: Buffer): NarNode {
    switch (node.type) {
      case 'symlink':
        try {
          symlinkSync(Buffer.from(node.target), dst);
          lutimesSync(dst, 1, 1);
        } catch (e) {
          throw ioError('creating symlink', dst, e);
        }
        return node;
      case 'directory':
        try {
          mkdirSync(dst, 0o755);
        } catch (e) {
          throw ioError('creating directory', dst, e);
        }
        this.dirs.push(dst);
        return {
          type: 'directory',
          entries: () => node.entries().map((e) => ({
            name: e.name,
            node: () => this.tee(e.node(), Buffer.concat([dst, SLASH, e.name])),
          })),
        };
      case 'regular':
        return this.teeRegular(node, dst);
    }
  }

  private teeRegular(node: NarRegular, dst: Buffer): NarRegular {
    const mode = node.executable ? 0o555 : 0o444;
    // A file that may get an O_DIRECT fd is opened a second time by path: it must be writable for that.
    const createMode = node.size >= DIRECT_MIN ? 0o600 : mode;
    let fd: number;
    try {
      fd = openSync(dst, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, createMode);
    } catch (e) {
      node.close?.();
      throw ioError('creating file', dst, e);
    }
    if (createMode === mode) this.needChmod ??= (fstatSync(fd).mode & 0o777) !== mode;
    const out: OutFile = { fd, directFd: -1, path: dst, mode, chmod: createMode !== mode, queue: [], ended: false };
    const close = (): void => {
      node.close?.();
      if (out.ended) return;
      out.ended = true;
      if (out.queue.length === 0) this.closeFile(out);
    };
    if (node.size <= SYNC_WRITE_MAX) {
      return {
        type: 'regular', executable: node.executable, size: node.size, close,
        read: (into, position) => {
          const n = node.read(into, position);
          if (n > 0) this.writeNow(out, into, n);
          return n;
        },
      };
    }
    // Read in whole blocks at block-aligned offsets (what O_DIRECT needs),
    // each queued for writing as soon as it is read; the NAR writer's
    // windows are copied out of the current block.
    let block: Uint8Array | undefined;
    let blockStart = 0;
    let blockLen = 0;
    return {
      type: 'regular', executable: node.executable, size: node.size, close,
      read: (into, position) => {
        if (block === undefined || position >= blockStart + blockLen) {
          block = this.acquireBlock();
          blockStart = position;
          blockLen = node.read(block.subarray(0, Math.min(BLOCK, node.size - position)), position);
          if (blockLen <= 0) {
            this.free.push(block);
            return 0;
          }
          this.queueBlock(out, block, blockStart, blockLen, node.size);
        }
        const off = position - blockStart;
        const n = Math.min(into.length, blockLen - off);
        into.set(block.subarray(off, off + n));
        return n;
      },
    };
  }

  private writeNow(out: OutFile, data: Uint8Array, n: number): void {
    try {
      for (let off = 0; off < n;) off += writeSync(out.fd, data, off, n - off);
    } catch (e) {
      throw ioError('writing to file', out.path, e);
    }
  }

  /**
   * Queue the writes of a block just read: the whole-4-KiB part direct or
   * buffered as the chooser says (direct only for large files and aligned
   * offsets), a partial last 4 KiB through the page cache.
   */
  private queueBlock(out: OutFile, block: Uint8Array, position: number, len: number, fileSize: number): void {
    const aligned = len & ~(DIRECT_ALIGN - 1);
    const mayDirect = fileSize >= DIRECT_MIN && position % DIRECT_ALIGN === 0 && aligned > 0 && this.chooser.directOk;
    const mode = mayDirect ? this.chooser.next() : 'buffered';
    const writes: PendingWrite[] = mode === 'direct' && aligned < len
      ? [{ data: block.subarray(0, aligned), position, mode }, { data: block.subarray(aligned, len), position: position + aligned, mode: 'buffered' }]
      : [{ data: block.subarray(0, len), position, mode }];
    writes[writes.length - 1]!.release = block;
    for (const w of writes) {
      this.outstanding++;
      out.queue.push(w);
      if (out.queue.length === 1) this.startWrite(out);
    }
  }

  /** The fd to write with in `mode`, opening the O_DIRECT one on first use; -1: no O_DIRECT here. */
  private fdFor(out: OutFile, mode: WriteMode): number {
    if (mode === 'buffered') return out.fd;
    if (out.directFd < 0) {
      try {
        out.directFd = openSync(out.path, C.O_WRONLY | C.O_DIRECT | C.O_NOFOLLOW);
      } catch {
        this.chooser.directOk = false;
        return -1;
      }
    }
    return out.directFd;
  }

  /** One write per file is in flight at a time: concurrent writes to one inode only contend for its lock. */
  private startWrite(out: OutFile): void {
    const w = out.queue[0]!;
    let fd = this.fdFor(out, w.mode);
    if (fd < 0) {
      w.mode = 'buffered';
      fd = out.fd;
    }
    const t0 = process.hrtime.bigint();
    const bytes = w.data.length;
    const done = (e: NodeJS.ErrnoException | null, written: number): void => {
      if (e === null && written > 0 && written < w.data.length) {
        // A short write: the rest, from where it stopped, through the page cache (alignment no longer holds).
        w.data = w.data.subarray(written);
        w.position += written;
        w.mode = 'buffered';
        write(out.fd, w.data, 0, w.data.length, w.position, done);
        return;
      }
      if (e?.code === 'EINVAL' && w.mode === 'direct') {
        // O_DIRECT refused (alignment, file system): never again in this add.
        this.chooser.directOk = false;
        w.mode = 'buffered';
        write(out.fd, w.data, 0, w.data.length, w.position, done);
        return;
      }
      if (e !== null || written === 0) this.error ??= ioError('writing to file', out.path, e ?? new Error('short write'));
      else this.chooser.record(w.mode, bytes, Number(process.hrtime.bigint() - t0));
      out.queue.shift();
      this.outstanding--;
      if (w.release !== undefined) this.free.push(w.release);
      if (out.queue.length > 0) this.startWrite(out);
      else if (out.ended) this.closeFile(out);
      this.signal();
    };
    write(fd, w.data, 0, w.data.length, w.position, done);
  }

  /** Mode (if the umask took bits) and mtime through the fd, then close. */
  private closeFile(out: OutFile): void {
    try {
      if (this.error === undefined) {
        if (out.chmod || this.needChmod) fchmodSync(out.fd, out.mode);
        futimesSync(out.fd, 1, 1);
      }
    } catch (e) {
      this.error ??= ioError('setting the metadata of', out.path, e);
    } finally {
      closeSync(out.fd);
      if (out.directFd >= 0) closeSync(out.directFd);
    }
  }
}

/**
 * NAR serialiser (libutil/archive.cc `dumpPath`, serialise.cc `writeString`).
 *
 * Canonical output only: entries sorted byte-wise, `executable` before
 * `contents`, zero padding to 8 bytes. Tokens and file bytes go into one chunk
 * buffer that is handed out when full, so a consumer such as a hash sees few
 * large updates whatever the shape of the tree.
 */
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../errors.js';
import type { NarDirEntry, NarNode, NarRegular } from './node.js';

export const NAR_MAGIC = 'nix-archive-1';
const DEFAULT_CHUNK = 1 << 20;

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** Pre-encoded token strings (length word + bytes + padding). */
function token(s: string | Uint8Array): Uint8Array {
  const b = typeof s === 'string' ? enc(s) : s;
  const out = new Uint8Array(8 + padded(b.length));
  writeU64(out, 0, b.length);
  out.set(b, 8);
  return out;
}

function padded(n: number): number {
  return (n + 7) & ~7;
}

/** `n` (a non-negative safe integer) as 8 little-endian bytes at `buf[off]`, as NAR and the wire encode numbers. */
export function writeU64(buf: Uint8Array, off: number, n: number): void {
  const lo = n >>> 0;
  const hi = Math.floor(n / 0x100000000) >>> 0;
  buf[off] = lo & 0xff;
  buf[off + 1] = (lo >>> 8) & 0xff;
  buf[off + 2] = (lo >>> 16) & 0xff;
  buf[off + 3] = lo >>> 24;
  buf[off + 4] = hi & 0xff;
  buf[off + 5] = (hi >>> 8) & 0xff;
  buf[off + 6] = (hi >>> 16) & 0xff;
  buf[off + 7] = hi >>> 24;
}

const T = {
  magic: token(NAR_MAGIC),
  open: token('('),
  close: token(')'),
  type: token('type'),
  regular: token('regular'),
  executable: token('executable'),
  empty: token(''),
  contents: token('contents'),
  symlink: token('symlink'),
  target: token('target'),
  directory: token('directory'),
  entry: token('entry'),
  name: token('name'),
  node: token('node'),
};

/** Concatenations used per node, so each node costs one `set` for its header. */
const HDR_REGULAR = cat(T.open, T.type, T.regular, T.contents);
const HDR_EXECUTABLE = cat(T.open, T.type, T.regular, T.executable, T.empty, T.contents);
const HDR_SYMLINK = cat(T.open, T.type, T.symlink, T.target);
const HDR_DIRECTORY = cat(T.open, T.type, T.directory);
const ENTRY_OPEN = cat(T.entry, T.open, T.name);

function cat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export interface NarWriteOptions {
  /** Size of the chunks handed out (default 1 MiB). */
  chunkSize?: number;
  /**
   * Reuse one buffer for every chunk (the default). A yielded chunk is then
   * only valid until the next one is requested: consume it (e.g. hash it) at
   * once. Set false when the chunks are kept or passed on asynchronously.
   */
  reuseBuffer?: boolean;
  /**
   * Supplies each chunk buffer (overrides `chunkSize`/`reuseBuffer`). Called
   * for the first buffer and again each time the consumer asks for the chunk
   * after a yielded one, so the consumer may recycle a buffer it is done with.
   */
  allocate?: () => Uint8Array;
}

/** Byte-wise (memcmp) order of names, as NAR requires. */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function checkEntryName(name: Uint8Array): void {
  const bad =
    name.length === 0 ||
    name.includes(0x2f) ||
    name.includes(0) ||
    (name.length === 1 && name[0] === 0x2e) ||
    (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e);
  if (bad) throw new NixError(FormatsErrorCode.E_NAR_INVALID, `cannot archive invalid file name '${Buffer.from(name).toString('utf8')}'`);
}

/**
 * Serialise a tree as NAR, pulling from the source as chunks are consumed.
 * See `NarWriteOptions.reuseBuffer` for chunk lifetime.
 */
export function* narChunks(root: NarNode, opts: NarWriteOptions = {}): Generator<Uint8Array, void, undefined> {
  const size = opts.chunkSize ?? DEFAULT_CHUNK;
  const reuse = opts.reuseBuffer ?? true;
  const allocate = opts.allocate ?? (reuse ? undefined : () => new Uint8Array(size));
  const w = new ChunkWriter(allocate ?? (() => new Uint8Array(size)), allocate === undefined);
  if (!w.tryPut(T.magic)) yield* w.put(T.magic);
  yield* writeNode(w, root);
  yield* w.flush(true);
}

/** The whole NAR in one array (for small trees). */
export function serialiseNar(root: NarNode): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const c of narChunks(root, { reuseBuffer: false, chunkSize: 1 << 16 })) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

function* writeNode(w: ChunkWriter, node: NarNode): Generator<Uint8Array, void, undefined> {
  if (node.type === 'regular') {
    const hdr = node.executable ? HDR_EXECUTABLE : HDR_REGULAR;
    if (!w.tryPut(hdr)) yield* w.put(hdr);
    if (!putSmallContents(w, node)) yield* writeContents(w, node);
  } else if (node.type === 'symlink') {
    if (!w.tryPut(HDR_SYMLINK)) yield* w.put(HDR_SYMLINK);
    if (!w.tryPutString(node.target)) yield* w.putString(node.target);
  } else {
    if (!w.tryPut(HDR_DIRECTORY)) yield* w.put(HDR_DIRECTORY);
    const entries = sortedEntries(node.entries());
    for (const e of entries) {
      if (!w.tryPut(ENTRY_OPEN)) yield* w.put(ENTRY_OPEN);
      if (!w.tryPutString(e.name)) yield* w.putString(e.name);
      if (!w.tryPut(T.node)) yield* w.put(T.node);
      yield* writeNode(w, e.node());
      if (!w.tryPut(T.close)) yield* w.put(T.close);
    }
  }
  if (!w.tryPut(T.close)) yield* w.put(T.close);
}

function sortedEntries(entries: NarDirEntry[]): NarDirEntry[] {
  entries.sort((a, b) => compareNames(a.name, b.name));
  for (let i = 0; i < entries.length; i++) {
    checkEntryName(entries[i]!.name);
    if (i > 0 && compareNames(entries[i - 1]!.name, entries[i]!.name) === 0) {
      throw new NixError(FormatsErrorCode.E_NAR_INVALID, `cannot archive duplicate file name '${Buffer.from(entries[i]!.name).toString('utf8')}'`);
    }
  }
  return entries;
}

/** The whole file fits in the chunk buffer: read it there with no generator. */
function putSmallContents(w: ChunkWriter, f: NarRegular): boolean {
  const total = 8 + padded(f.size);
  if (w.free() < total) return false;
  try {
    w.tryPutU64(f.size);
    let pos = 0;
    while (pos < f.size) {
      const n = f.read(w.window(f.size - pos), pos);
      if (n <= 0) throw fileChanged();
      w.advance(n);
      pos += n;
    }
    w.tryPad(f.size);
  } finally {
    f.close?.();
  }
  return true;
}

function fileChanged(): NixError {
  return new NixError(FormatsErrorCode.E_NAR_INVALID, 'file changed while it was being archived (unexpected end of file)');
}

function* writeContents(w: ChunkWriter, f: NarRegular): Generator<Uint8Array, void, undefined> {
  try {
    yield* w.putU64(f.size);
    let pos = 0;
    while (pos < f.size) {
      if (w.free() === 0) yield* w.flush();
      const want = Math.min(w.free(), f.size - pos);
      const n = f.read(w.window(want), pos);
      if (n <= 0) throw fileChanged();
      w.advance(n);
      pos += n;
    }
    yield* w.pad(f.size);
  } finally {
    f.close?.();
  }
}

/** The chunk buffer. Small writes are copied in; a full buffer is yielded. */
class ChunkWriter {
  private buf: Uint8Array;
  private size: number;
  private pos = 0;
  constructor(private readonly allocate: () => Uint8Array, private readonly reuse: boolean) {
    this.buf = this.fresh();
    this.size = this.buf.length;
  }
  private fresh(): Uint8Array {
    const b = this.allocate();
    if (b.length < 64) throw new Error('Assertion failed: NAR chunk buffers must hold at least 64 bytes');
    return b;
  }
  free(): number {
    return this.size - this.pos;
  }
  window(n: number): Uint8Array {
    return this.buf.subarray(this.pos, this.pos + n);
  }
  advance(n: number): void {
    this.pos += n;
  }
  *flush(final = false): Generator<Uint8Array, void, undefined> {
    if (this.pos === 0) return;
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    yield out;
    if (!this.reuse && !final) {
      this.buf = this.fresh();
      this.size = this.buf.length;
    }
  }
  tryPut(b: Uint8Array): boolean {
    if (this.size - this.pos < b.length) return false;
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return true;
  }
  tryPutU64(n: number): boolean {
    if (this.size - this.pos < 8) return false;
    writeU64(this.buf, this.pos, n);
    this.pos += 8;
    return true;
  }
  tryPad(len: number): boolean {
    const p = padded(len) - len;
    if (this.size - this.pos < p) return false;
    this.buf.fill(0, this.pos, this.pos + p);
    this.pos += p;
    return true;
  }
  tryPutString(s: Uint8Array): boolean {
    const total = 8 + padded(s.length);
    if (this.size - this.pos < total) return false;
    writeU64(this.buf, this.pos, s.length);
    this.buf.set(s, this.pos + 8);
    this.buf.fill(0, this.pos + 8 + s.length, this.pos + total);
    this.pos += total;
    return true;
  }
  *put(b: Uint8Array): Generator<Uint8Array, void, undefined> {
    let off = 0;
    while (off < b.length) {
      if (this.pos === this.size) yield* this.flush();
      const n = Math.min(b.length - off, this.size - this.pos);
      this.buf.set(n === b.length ? b : b.subarray(off, off + n), this.pos);
      this.pos += n;
      off += n;
    }
  }
  *putU64(n: number): Generator<Uint8Array, void, undefined> {
    if (this.size - this.pos < 8) yield* this.flush();
    writeU64(this.buf, this.pos, n);
    this.pos += 8;
  }
  *pad(len: number): Generator<Uint8Array, void, undefined> {
    const p = padded(len) - len;
    if (p === 0) return;
    if (this.size - this.pos < p) yield* this.flush();
    this.buf.fill(0, this.pos, this.pos + p);
    this.pos += p;
  }
  *putString(s: Uint8Array): Generator<Uint8Array, void, undefined> {
    yield* this.putU64(s.length);
    yield* this.put(s);
    yield* this.pad(s.length);
  }
}

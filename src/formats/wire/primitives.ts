/**
 * Worker-protocol wire primitives (libutil/serialise.{hh,cc}): every integer
 * is one u64 little-endian; byte strings are a u64 length, the bytes, then
 * zero padding to a multiple of 8; collections are a u64 count then items.
 *
 * Pure: a growable `WireWriter` and a synchronous `WireParser` over a byte
 * array. The parser throws `WireShortRead` when the input ends early, so an
 * async reader can refill and retry; malformed input is a `NixError`.
 */
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../errors.js';

/** Thrown when the parser needs more bytes than it has. */
export class WireShortRead extends Error {
  constructor(readonly needed: number) {
    super('short read');
  }
}

/** Padding after a string of `len` bytes. */
export function padLength(len: number): number {
  return (8 - (len % 8)) % 8;
}

export const U64_MAX = (1n << 64n) - 1n;

const textEncoder = new TextEncoder();

export function toBytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? textEncoder.encode(s) : s;
}

/** Builds a wire message in one growable buffer. */
export class WireWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** A non-negative integer; numbers must be safe integers. */
  u64(v: number | bigint): this {
    this.reserve(8);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`Assertion failed: u64 out of range: ${v}`);
      this.view.setUint32(this.length, v % 0x1_0000_0000, true);
      this.view.setUint32(this.length + 4, Math.floor(v / 0x1_0000_0000), true);
    } else {
      if (v < 0n || v > U64_MAX) throw new Error(`Assertion failed: u64 out of range: ${v}`);
      this.view.setBigUint64(this.length, v, true);
    }
    this.length += 8;
    return this;
  }

  /** Booleans are sent as exactly 0 or 1 (readers of `bool` reject > 1). */
  bool(b: boolean): this {
    return this.u64(b ? 1 : 0);
  }

  /** A length-prefixed, zero-padded byte string. */
  string(s: string | Uint8Array): this {
    const b = toBytes(s);
    const pad = padLength(b.length);
    this.u64(b.length);
    this.reserve(b.length + pad);
    this.buf.set(b, this.length);
    this.buf.fill(0, this.length + b.length, this.length + b.length + pad);
    this.length += b.length + pad;
    return this;
  }

  /** Unpadded raw bytes (frames, raw NAR). */
  raw(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  strings(items: Iterable<string | Uint8Array>): this {
    const arr = [...items];
    this.u64(arr.length);
    for (const s of arr) this.string(s);
    return this;
  }

  /** `map<str,str>` (caller sorts when order matters). */
  stringMap(entries: Iterable<[string, string]>): this {
    const arr = [...entries];
    this.u64(arr.length);
    for (const [k, v] of arr) this.string(k).string(v);
    return this;
  }

  /** The bytes written so far (a copy-free view until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Take the bytes and reset. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

export function encodeU64(v: number | bigint): Uint8Array {
  return new WireWriter(8).u64(v).take();
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

function serialisationError(msg: string): NixError {
  return new NixError(FormatsErrorCode.E_WIRE_INVALID, msg);
}

/** Reads primitives from a byte array at `pos`. */
export class WireParser {
  pos: number;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array, pos = 0, readonly end = buf.length) {
    this.pos = pos;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.end - this.pos < n) throw new WireShortRead(n - (this.end - this.pos));
  }

  u64Big(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A u64 that must fit a safe JS integer (sizes, counts, times). */
  u64(): number {
    this.need(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    if (hi >= 0x20_0000) throw serialisationError(`serialised integer ${(BigInt(hi) << 32n) | BigInt(lo)} is too large`);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  /** A u64 read into a C `unsigned int` (opcodes, enums, versions). */
  u32(): number {
    const v = this.u64();
    if (v > 0xffff_ffff) throw serialisationError(`serialised integer ${v} is too large for type 'j'`);
    return v;
  }

  /** Lenient boolean: any non-zero is true (servers accept what `readInt` would). */
  bool(): boolean {
    return this.u64Big() !== 0n;
  }

  /** A padded byte string; `max` bounds its length before any allocation. */
  bytes(max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const start = this.pos;
    const len = this.u64();
    if (len > max) {
      this.pos = start;
      throw serialisationError(`string of ${len} bytes exceeds the limit of ${max}`);
    }
    const pad = padLength(len);
    try {
      this.need(len + pad);
    } catch (e) {
      this.pos = start;
      throw e;
    }
    const out = this.buf.subarray(this.pos, this.pos + len);
    for (let i = 0; i < pad; i++) {
      if (this.buf[this.pos + len + i] !== 0) throw serialisationError('non-zero padding');
    }
    this.pos += len + pad;
    return out;
  }

  /** A string decoded as UTF-8 (store paths, names, settings). */
  string(max?: number): string {
    return textDecoder.decode(this.bytes(max));
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  strings(maxCount = Number.MAX_SAFE_INTEGER, maxLen?: number): string[] {
    const n = this.u64();
    if (n > maxCount) throw serialisationError(`list of ${n} items exceeds the limit of ${maxCount}`);
    // Every item takes at least 8 bytes: a count larger than the input is garbage.
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.string(maxLen));
    return out;
  }

  stringMap(maxCount = Number.MAX_SAFE_INTEGER): [string, string][] {
    const n = this.u64();
    if (n > maxCount) throw serialisationError(`map of ${n} items exceeds the limit of ${maxCount}`);
    const out: [string, string][] = [];
    for (let i = 0; i < n; i++) out.push([this.string(), this.string()]);
    return out;
  }
}

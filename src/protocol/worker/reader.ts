/**
 * Async reading of wire data (Nix's `Source`/`FdSource`). Bytes arrive as
 * chunks from a `ChunkSource` (a socket, stdin, or the STDERR_READ pull);
 * primitives are decoded synchronously by `WireParser` over buffered bytes,
 * and only when the buffer runs short do we wait for more.
 *
 * Invariant: a parse callback either consumes a whole item or nothing, so a
 * short read simply retries once `needed` more bytes are buffered.
 */
import { NixError, concatBytes } from '../../core/index.js';
import { WireParser, WireShortRead } from '../../formats/index.js';
import { ProtocolErrorCode } from '../errors.js';

/** Yields chunks; `null` at end of stream. */
export interface ChunkSource {
  next(): Promise<Uint8Array | null>;
}

export function endOfFile(): NixError {
  return new NixError(ProtocolErrorCode.E_PROTOCOL_EOF, 'unexpected end-of-file');
}

/** Stop reading from the socket when this much is buffered (back-pressure). */
const HIGH_WATER = 1 << 20;

/** A `ChunkSource` over a Node readable stream, pausing it when we fall behind. */
export class StreamChunkSource implements ChunkSource {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  /**
   * Set by the reader's owner only while it waits for input with nothing
   * buffered: a chunk arriving then is offered to it first; it returns how
   * many of the chunk's first bytes it consumed, and only the rest is queued
   * and wakes the reader.
   */
  intercept: ((chunk: Uint8Array) => number) | undefined;

  constructor(private readonly stream: NodeJS.ReadableStream) {
    stream.on('data', (c: Buffer | string) => {
      let taken = 0;
      if (this.intercept !== undefined && this.queue.length === 0 && typeof c !== 'string') {
        taken = this.intercept(c);
        if (taken === c.length) return;
      }
      // A plain view: Buffer's slice() would not copy where our readers expect a copy.
      const b = typeof c === 'string' ? new TextEncoder().encode(c) : new Uint8Array(c.buffer, c.byteOffset + taken, c.byteLength - taken);
      this.queue.push(b);
      this.queued += b.length;
      if (this.queued > HIGH_WATER) stream.pause();
      this.notify();
    });
    stream.on('end', () => this.finish());
    stream.on('close', () => this.finish());
    stream.on('error', (e: Error) => {
      this.error = e;
      this.finish();
    });
  }

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async next(): Promise<Uint8Array | null> {
    for (;;) {
      const c = this.queue.shift();
      if (c !== undefined) {
        this.queued -= c.length;
        if (this.queued <= HIGH_WATER / 2 && this.stream.isPaused()) this.stream.resume();
        return c;
      }
      if (this.ended) {
        // A reset connection is just an early end to the protocol.
        return null;
      }
      if (this.stream.isPaused()) this.stream.resume();
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  get failed(): Error | undefined {
    return this.error;
  }
}

export class WireReader {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private eof = false;
  /** Total bytes consumed so far. */
  consumed = 0;

  constructor(private readonly source: ChunkSource) {}

  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** The buffered bytes are `window[windowStart…]` (for synchronous peeking; do not keep). */
  get window(): Uint8Array {
    return this.buf;
  }
  get windowStart(): number {
    return this.pos;
  }

  /** Consume `n` buffered bytes (after a synchronous peek). */
  skip(n: number): void {
    if (n > this.buffered) throw new Error('Assertion failed: skipping past the buffered bytes');
    this.pos += n;
    this.consumed += n;
  }

  /** Wait until at least `n` bytes are buffered; throws at end of stream. */
  private async fill(n: number): Promise<void> {
    if (this.buffered >= n) return;
    if (this.buffered === 0 && !this.eof) {
      // The common case (the previous request was consumed whole): take the chunk as is.
      const c = await this.source.next();
      if (c === null) {
        this.eof = true;
        throw endOfFile();
      }
      this.buf = c;
      this.pos = 0;
      if (c.length >= n) return;
    }
    const parts: Uint8Array[] = [this.buf.subarray(this.pos)];
    let have = this.buffered;
    while (have < n) {
      const c = this.eof ? null : await this.source.next();
      if (c === null) {
        this.eof = true;
        this.buf = concatBytes(parts);
        this.pos = 0;
        throw endOfFile();
      }
      parts.push(c);
      have += c.length;
    }
    this.buf = parts.length === 2 && parts[0]!.length === 0 ? parts[1]! : concatBytes(parts);
    this.pos = 0;
  }

  /**
   * Run a synchronous decoder over buffered bytes, refilling on short reads.
   * `min` bytes (every wire item is at least 8) are awaited first: a short
   * read costs an exception, and most happen when the buffer is just empty.
   */
  async parse<T>(fn: (p: WireParser) => T, min = 8): Promise<T> {
    if (this.buffered < min && !this.eof) await this.fill(min);
    for (;;) {
      const p = new WireParser(this.buf, this.pos);
      try {
        const v = fn(p);
        this.consumed += p.pos - this.pos;
        this.pos = p.pos;
        return v;
      } catch (e) {
        if (!(e instanceof WireShortRead)) throw e;
        await this.fill(this.buffered + e.needed);
      }
    }
  }

  /** Synchronous attempt: undefined if not enough is buffered. */
  tryParse<T>(fn: (p: WireParser) => T): T | undefined {
    const p = new WireParser(this.buf, this.pos);
    try {
      const v = fn(p);
      this.consumed += p.pos - this.pos;
      this.pos = p.pos;
      return v;
    } catch (e) {
      if (e instanceof WireShortRead) return undefined;
      throw e;
    }
  }

  u64(): Promise<number> {
    return this.parse((p) => p.u64());
  }
  u32(): Promise<number> {
    return this.parse((p) => p.u32());
  }
  bool(): Promise<boolean> {
    return this.parse((p) => p.bool());
  }
  string(max?: number): Promise<string> {
    return this.parse((p) => p.string(max));
  }
  bytes(max?: number): Promise<Uint8Array> {
    return this.parse((p) => p.bytes(max).slice());
  }
  strings(maxCount?: number): Promise<string[]> {
    return this.parse((p) => p.strings(maxCount));
  }

  /** Up to `max` raw bytes (at least 1); for streaming payloads. */
  async readSome(max: number): Promise<Uint8Array> {
    if (this.buffered === 0) await this.fill(1);
    const n = Math.min(max, this.buffered);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.consumed += n;
    return out;
  }

  /** Exactly `n` raw bytes as chunks (no copy of large payloads). */
  async *readExact(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      const c = await this.readSome(left);
      left -= c.length;
      yield c;
    }
  }

  /** True when the peer has closed and nothing is left. */
  async atEof(): Promise<boolean> {
    if (this.buffered > 0) return false;
    try {
      await this.fill(1);
      return false;
    } catch (e) {
      if (e instanceof NixError && e.code === ProtocolErrorCode.E_PROTOCOL_EOF) return true;
      throw e;
    }
  }
}

/**
 * A pull reader over an async byte stream, for parsers that must stop exactly
 * where their format ends (a NAR inside a worker-protocol stream is followed
 * by other data). Data already buffered is served synchronously, so a parser
 * awaits only at chunk boundaries.
 */
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../errors.js';

export class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  private off = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.it =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        : toAsync((source as Iterable<Uint8Array>)[Symbol.iterator]());
  }

  available(): number {
    return this.buf.length - this.off;
  }

  /** Buffer at least `n` bytes; false when the stream ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.available() < n) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      if (r.value.length === 0) continue;
      const rest = this.buf.subarray(this.off);
      if (rest.length === 0) this.buf = r.value;
      else {
        const joined = new Uint8Array(rest.length + r.value.length);
        joined.set(rest);
        joined.set(r.value, rest.length);
        this.buf = joined;
      }
      this.off = 0;
    }
    return true;
  }

  /** Exactly `n` bytes (a view, valid until the next read). */
  async readExact(n: number): Promise<Uint8Array> {
    if (this.available() < n && !(await this.fill(n))) throw eof();
    return this.take(n);
  }

  /** Synchronous `readExact` when the bytes are already buffered. */
  takeIfBuffered(n: number): Uint8Array | undefined {
    return this.available() >= n ? this.take(n) : undefined;
  }

  /** Between 1 and `max` bytes; throws at end of stream. */
  async readSome(max: number): Promise<Uint8Array> {
    if (this.available() === 0 && !(await this.fill(1))) throw eof();
    return this.take(Math.min(max, this.available()));
  }

  /** What was buffered beyond the last read (for handing the stream on). */
  leftover(): Uint8Array {
    return this.buf.subarray(this.off);
  }

  private take(n: number): Uint8Array {
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    this.consumed += n;
    return v;
  }
}

function eof(): NixError {
  return new NixError(FormatsErrorCode.E_NAR_INVALID, 'unexpected end-of-file');
}

async function* toAsyncGen(it: Iterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (let r = it.next(); !r.done; r = it.next()) yield r.value;
}

function toAsync(it: Iterator<Uint8Array>): AsyncIterator<Uint8Array> {
  return toAsyncGen(it);
}

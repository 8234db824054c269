/**
 * NAR payloads on the wire (libutil/serialise.cc `FramedSource`/`FramedSink`,
 * archive.cc `parseDump`, used by daemon.cc to find the end of unframed NARs).
 *
 * Framed: `u64 n` + n raw bytes, repeated, ended by n = 0 (no padding).
 * Unframed: a NAR with no length prefix; its end is found by parsing the
 * grammar. Both are exposed as `AsyncIterable<Uint8Array>` of the exact bytes.
 */
import { NixError, concatBytes } from '../../core/index.js';
import { FormatsErrorCode, WireParser, WireWriter } from '../../formats/index.js';
import type { WireReader } from './reader.js';

/** Longest token other than file contents we accept (names, symlink targets). */
const MAX_TOKEN = 1 << 20;
/** Directory nesting limit: deeper NARs are rejected rather than exhausting the stack. */
const MAX_DEPTH = 1024;

const dec = new TextDecoder();

function narError(msg: string): NixError {
  return new NixError(FormatsErrorCode.E_NAR_INVALID, msg);
}

function encodeToken(b: Uint8Array): Uint8Array {
  return new WireWriter(b.length + 16).string(b).take();
}

async function token(r: WireReader): Promise<Uint8Array> {
  return r.bytes(MAX_TOKEN);
}

async function expect(r: WireReader, want: string, out: Uint8Array[]): Promise<void> {
  const t = await token(r);
  out.push(encodeToken(t));
  if (dec.decode(t) !== want) throw narError(`input doesn't look like a Nix archive (expected '${want}')`);
}

/**
 * Copy one NAR from `r`, yielding its exact bytes; stops right after the NAR's
 * last token so the stream stays in sync.
 */
export async function* copyNar(r: WireReader): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  await expect(r, 'nix-archive-1', out);
  yield* node(r, out, 0);
  if (out.length > 0) yield concat(out.splice(0));
}

function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : concatBytes(parts);
}

async function* node(r: WireReader, out: Uint8Array[], depth: number): AsyncGenerator<Uint8Array> {
  if (depth > MAX_DEPTH) throw narError('NAR nesting is too deep');
  await expect(r, '(', out);
  await expect(r, 'type', out);
  const typeTok = await token(r);
  out.push(encodeToken(typeTok));
  const type = dec.decode(typeTok);
  if (type === 'regular') {
    let t = dec.decode(await token(r));
    if (t === 'executable') {
      out.push(encodeToken(new TextEncoder().encode('executable')));
      const empty = await token(r);
      if (empty.length !== 0) throw narError('executable marker has non-empty value');
      out.push(encodeToken(empty));
      t = dec.decode(await token(r));
    }
    if (t !== 'contents') throw narError(`unknown file field '${t}'`);
    out.push(encodeToken(new TextEncoder().encode('contents')));
    yield* contents(r, out);
    await expect(r, ')', out);
  } else if (type === 'symlink') {
    await expect(r, 'target', out);
    out.push(encodeToken(await token(r)));
    await expect(r, ')', out);
  } else if (type === 'directory') {
    yield* directory(r, out, depth);
  } else {
    throw narError(`unknown file type '${type}'`);
  }
}

async function* contents(r: WireReader, out: Uint8Array[]): AsyncGenerator<Uint8Array> {
  const len = await r.u64();
  out.push(new WireWriter(8).u64(len).take());
  yield concat(out.splice(0));
  for await (const c of r.readExact(len)) yield c.slice();
  const pad = (8 - (len % 8)) % 8;
  if (pad > 0) {
    const p = (await r.parse((w) => w.raw(pad), pad)).slice();
    if (p.some((x) => x !== 0)) throw narError('non-zero padding in NAR');
    out.push(p);
  }
}

async function* directory(r: WireReader, out: Uint8Array[], depth: number): AsyncGenerator<Uint8Array> {
  let prev: Uint8Array | undefined;
  for (;;) {
    const t = dec.decode(await token(r));
    out.push(encodeToken(new TextEncoder().encode(t)));
    if (t === ')') return;
    if (t !== 'entry') throw narError(`unknown directory field '${t}'`);
    await expect(r, '(', out);
    await expect(r, 'name', out);
    const name = await token(r);
    checkEntryName(name, prev);
    prev = name;
    out.push(encodeToken(name));
    await expect(r, 'node', out);
    yield* node(r, out, depth + 1);
    await expect(r, ')', out);
    if (out.length > 64) yield concat(out.splice(0));
  }
}

function checkEntryName(name: Uint8Array, prev: Uint8Array | undefined): void {
  const s = dec.decode(name);
  if (name.length === 0 || s === '.' || s === '..' || name.includes(0x2f) || name.includes(0)) {
    throw narError(`NAR contains invalid file name '${s}'`);
  }
  if (prev !== undefined && compareU8(prev, name) >= 0) throw narError(`NAR directory is not sorted`);
}

function compareU8(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Frames until the 0 terminator. */
export async function* readFramed(r: WireReader): AsyncGenerator<Uint8Array> {
  for (;;) {
    const n = await r.u64();
    if (n === 0) return;
    // No copy: the reader's buffers are fresh per socket read and never written again.
    for (let left = n; left > 0; ) {
      const c = await r.readSome(left);
      left -= c.length;
      yield c;
    }
  }
}

/**
 * A payload that can be drained after its consumer stopped early, so a failing
 * operation leaves the stream right after the payload (2.8 drains framed
 * uploads up to the terminator before reporting the error).
 */
export class DrainableSource implements AsyncIterable<Uint8Array> {
  private done = false;
  /** Set when the underlying stream was malformed: its end cannot be found. */
  failed = false;
  /** Bytes handed out so far. */
  size = 0;
  constructor(private readonly it: AsyncGenerator<Uint8Array>) {}

  private async step(): Promise<IteratorResult<Uint8Array>> {
    if (this.failed) throw new Error('Assertion failed: reading a failed upload');
    try {
      const r = await this.it.next();
      if (r.done) this.done = true;
      return r;
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const { value, done } = await this.step();
      if (done) return;
      this.size += value.length;
      yield value;
    }
  }

  /** Consume whatever is left (no-op once the end was read); throws if the stream is malformed. */
  async drain(): Promise<void> {
    while (!this.done) await this.step();
  }

  get finished(): boolean {
    return this.done;
  }
}

export function framedSource(r: WireReader): DrainableSource {
  return new DrainableSource(readFramed(r));
}

export function narSource(r: WireReader): DrainableSource {
  return new DrainableSource(copyNar(r));
}

/** A ChunkSource over an async iterable (e.g. to parse inside a framed payload). */
export function iterableChunkSource(it: AsyncIterable<Uint8Array>): { next(): Promise<Uint8Array | null> } {
  const iter = it[Symbol.asyncIterator]();
  return {
    async next() {
      const { value, done } = await iter.next();
      return done ? null : value;
    },
  };
}

/** Frames up to this size are held back (copied) until the next chunk or the end. */
const HOLD_MAX = 64 * 1024;

/**
 * A framed upload (Nix's FramedSink): the request head, the frames of
 * `source`, then the terminator. A small last frame is held back until the
 * source ends, so a small upload (one chunk) goes out with its head and
 * terminator in one write and the daemon wakes once; larger frames are
 * flushed as they come (backpressure). Held frames are copies: a producer
 * may reuse the buffer it yielded.
 */
export async function writeFramed(
  sink: { write(b: Uint8Array): void; flush(): Promise<void> },
  head: Uint8Array,
  source: AsyncIterable<Uint8Array>,
): Promise<void> {
  const pending: Uint8Array[] = [head];
  let held = head.length;
  const release = (): void => {
    for (const b of pending.splice(0)) sink.write(b);
    held = 0;
  };
  try {
    for await (const chunk of source) {
      if (chunk.length === 0) continue;
      const frame = new WireWriter(8).u64(chunk.length).take();
      if (held + chunk.length <= HOLD_MAX) {
        pending.push(frame, chunk.slice());
        held += 8 + chunk.length;
        continue;
      }
      release();
      sink.write(frame);
      sink.write(chunk);
      await sink.flush();
    }
  } finally {
    // Also on a failing source: the head and what was read go out before the caller's terminator.
    release();
  }
  sink.write(new WireWriter(8).u64(0).take());
}

/** The contents of a NAR that holds one regular file (legacy flat AddToStore). */
export function narRegularContents(nar: Uint8Array): Uint8Array {
  const p = new WireParser(nar);
  const dec = new TextDecoder();
  const tok = (): string => dec.decode(p.bytes(1 << 20));
  const head = [tok(), tok(), tok(), tok()];
  if (head.join(' ') !== 'nix-archive-1 ( type regular') {
    throw new NixError(FormatsErrorCode.E_NAR_INVALID, 'flat AddToStore needs a NAR of a regular file');
  }
  let t = tok();
  if (t === 'executable') {
    tok();
    t = tok();
  }
  return p.bytes().slice();
}


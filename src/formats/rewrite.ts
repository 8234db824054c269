/**
 * Streaming hash-part rewriting and hashing modulo a self-reference
 * (libstore/references.cc `RewritingSink`, `HashModuloSink`, 2.8).
 *
 * `Rewriter` replaces every occurrence of one byte string with another of
 * the same length across chunk boundaries, recording the stream offsets of
 * the matches. `hashModulo` is the CA hash of a path that refers to itself:
 * zero the old hash part, then hash the result followed by `|<offset>` per
 * match (spec §7.4).
 */
import { createHash } from 'node:crypto';
import { Hash, type HashType } from './hash.js';

export class Rewriter {
  private readonly from: Buffer;
  private readonly to: Buffer;
  private prev: Buffer = Buffer.alloc(0);
  /** Offsets (in the stream) of every match, in order. */
  readonly matches: number[] = [];
  /** Bytes passed on so far. */
  pos = 0;

  constructor(from: Uint8Array | string, to: Uint8Array | string) {
    this.from = Buffer.from(typeof from === 'string' ? Buffer.from(from, 'latin1') : from);
    this.to = Buffer.from(typeof to === 'string' ? Buffer.from(to, 'latin1') : to);
    if (this.from.length !== this.to.length || this.from.length === 0) throw new Error('Assertion failed: rewrites must keep the length');
  }

  /** Feed a chunk; returns the rewritten bytes that are final (may be empty). */
  update(data: Uint8Array): Uint8Array {
    const s = Buffer.concat([this.prev, data]);
    // As Nix, resume the search at the match itself: the replacement may start a new match.
    const step = this.from.equals(this.to) ? this.from.length : 0;
    for (let j = s.indexOf(this.from); j >= 0; j = s.indexOf(this.from, j + step)) {
      this.matches.push(this.pos + j);
      this.to.copy(s, j);
    }
    // Keep the last len-1 bytes: a match may straddle the next chunk.
    const keep = s.length < this.from.length ? s.length : this.from.length - 1;
    this.prev = Buffer.from(s.subarray(s.length - keep));
    const out = s.subarray(0, s.length - keep);
    this.pos += out.length;
    return out;
  }

  /** The bytes still held back. */
  flush(): Uint8Array {
    const out = this.prev;
    this.pos += out.length;
    this.prev = Buffer.alloc(0);
    return out;
  }
}

/** Rewrite a whole stream (e.g. a NAR) chunk by chunk. */
export function* rewriteStream(chunks: Iterable<Uint8Array>, from: string, to: string): Generator<Uint8Array> {
  const r = new Rewriter(from, to);
  for (const c of chunks) {
    const out = r.update(c);
    if (out.length) yield out;
  }
  const rest = r.flush();
  if (rest.length) yield rest;
}

/** `HashModuloSink`: the hash of a stream modulo the self-reference `modulus` (a hash part). */
export function hashModulo(chunks: Iterable<Uint8Array>, modulus: string, algo: HashType = 'sha256'): { hash: Hash; size: number; matches: number[] } {
  const h = createHash(algo);
  const r = new Rewriter(modulus, Buffer.alloc(modulus.length));
  for (const c of chunks) h.update(r.update(c));
  h.update(r.flush());
  for (const pos of r.matches) h.update(`|${pos}`);
  return { hash: new Hash(algo, new Uint8Array(h.digest())), size: r.pos, matches: r.matches };
}

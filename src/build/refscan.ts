/**
 * Reference scanning over a NAR stream (Nix 2.8 `RefScanSink`, spec §7.1):
 * find the 32-char hash parts of candidate paths anywhere in the serialisation
 * (contents, names, symlink targets). Windows are checked right to left so a
 * non-base32 byte skips ahead; the last 31 bytes carry across chunks.
 *
 * TODO(formats): use formats' scanner once it lands (same algorithm).
 */
import { BASE32_ALPHABET, HASH_PART_LEN } from '../formats/index.js';

const IS_B32 = new Uint8Array(256);
for (const c of BASE32_ALPHABET) IS_B32[c.charCodeAt(0)] = 1;

export class RefScanner {
  private readonly pending: Map<string, string>;
  private readonly found = new Set<string>();
  private carry: Buffer = Buffer.alloc(0);

  /** `candidates`: hash part → whatever the caller wants back (e.g. the full path). */
  constructor(candidates: ReadonlyMap<string, string>) {
    this.pending = new Map(candidates);
  }

  update(chunk: Uint8Array): void {
    if (this.pending.size === 0) return;
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const n = buf.length;
    let i = 0;
    while (i + HASH_PART_LEN <= n) {
      let j = HASH_PART_LEN - 1;
      while (j >= 0 && IS_B32[buf[i + j]!]) j--;
      if (j >= 0) {
        i += j + 1;
        continue;
      }
      const key = buf.toString('latin1', i, i + HASH_PART_LEN);
      const hit = this.pending.get(key);
      if (hit !== undefined) {
        this.found.add(hit);
        this.pending.delete(key);
      }
      i++;
    }
    const keep = Math.min(n, HASH_PART_LEN - 1);
    this.carry = Buffer.from(buf.subarray(n - keep));
  }

  result(): Set<string> {
    return this.found;
  }
}

/** Replace every occurrence of equal-length byte strings in a stream (hash rewriting). */
export class StreamRewriter {
  private carry: Buffer = Buffer.alloc(0);
  private readonly len: number;
  constructor(private readonly rewrites: ReadonlyMap<string, string>) {
    let len = 0;
    for (const [a, b] of rewrites) {
      if (a.length !== b.length) throw new Error('Assertion failed: rewrites must keep lengths');
      len = Math.max(len, a.length);
    }
    this.len = len;
  }

  /** Returns the bytes that are final (everything but the last len-1 bytes). */
  update(chunk: Uint8Array): Buffer {
    let s = Buffer.concat([this.carry, chunk]).toString('latin1');
    for (const [a, b] of this.rewrites) if (s.includes(a)) s = s.split(a).join(b);
    const keep = Math.min(s.length, Math.max(this.len - 1, 0));
    this.carry = Buffer.from(s.slice(s.length - keep), 'latin1');
    return Buffer.from(s.slice(0, s.length - keep), 'latin1');
  }

  finish(): Buffer {
    const out = this.carry;
    this.carry = Buffer.alloc(0);
    return out;
  }
}

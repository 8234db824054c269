/**
 * Reference scanning (libstore/references.cc `RefScanSink`, 2.8).
 *
 * Finds which candidate hash parts (the 32 nix-base32 chars of a store path)
 * occur in a byte stream, normally a NAR, so names and symlink targets count
 * too. Same search as Nix: test a 32-byte window right to left and skip past
 * the first non-base32 byte. Streaming keeps the last 32 bytes of the
 * previous chunk, so hits across chunk boundaries are found.
 */
import { BASE32_ALPHABET } from './nixbase32.js';
import { HASH_PART_LEN, type StorePath } from './store-path.js';

const IS_BASE32 = new Uint8Array(256);
for (let i = 0; i < BASE32_ALPHABET.length; i++) IS_BASE32[BASE32_ALPHABET.charCodeAt(i)] = 1;

export class RefScanner {
  private readonly pending: Set<string>;
  readonly found = new Set<string>();
  private tail = new Uint8Array(0);

  /** `hashParts`: the 32-char hash parts to look for. */
  constructor(hashParts: Iterable<string>) {
    this.pending = new Set(hashParts);
  }

  update(data: Uint8Array): void {
    if (this.pending.size === 0 || data.length === 0) return;
    // The boundary: our tail plus the start of the new data.
    const head = data.subarray(0, HASH_PART_LEN);
    const joined = new Uint8Array(this.tail.length + head.length);
    joined.set(this.tail);
    joined.set(head, this.tail.length);
    this.search(joined);
    this.search(data);
    this.keepTail(data);
  }

  private keepTail(data: Uint8Array): void {
    if (data.length >= HASH_PART_LEN) {
      this.tail = data.slice(data.length - HASH_PART_LEN);
      return;
    }
    const all = new Uint8Array(this.tail.length + data.length);
    all.set(this.tail);
    all.set(data, this.tail.length);
    this.tail = all.slice(Math.max(0, all.length - HASH_PART_LEN));
  }

  private search(s: Uint8Array): void {
    const n = s.length;
    let i = 0;
    outer: while (i + HASH_PART_LEN <= n) {
      for (let j = HASH_PART_LEN - 1; j >= 0; j--) {
        if (IS_BASE32[s[i + j]!] === 0) {
          i += j + 1;
          continue outer;
        }
      }
      const ref = String.fromCharCode.apply(null, s.subarray(i, i + HASH_PART_LEN) as unknown as number[]);
      if (this.pending.delete(ref)) {
        this.found.add(ref);
        if (this.pending.size === 0) return;
      }
      i++;
    }
  }
}

/** Scan chunks for the hash parts of `candidates`; return the candidates found, sorted by base name. */
export function scanForReferences(chunks: Iterable<Uint8Array>, candidates: readonly StorePath[]): StorePath[] {
  const byHash = new Map(candidates.map((p) => [p.hashPart, p]));
  const scanner = new RefScanner(byHash.keys());
  for (const c of chunks) scanner.update(c);
  return [...scanner.found]
    .map((h) => byHash.get(h)!)
    .sort((a, b) => (a.baseName < b.baseName ? -1 : a.baseName > b.baseName ? 1 : 0));
}

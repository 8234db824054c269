/**
 * A NAR held whole in memory that is exactly one regular file, recognised
 * byte by byte (the most common upload: `nix copy` and the daemon's
 * AddToStoreNar of a small path). The layout is the canonical one the strict
 * parser (formats/nar/read.ts) accepts and that Nix writes:
 *
 *   str("nix-archive-1") str("(") str("type") str("regular")
 *   [str("executable") str("")] str("contents") u64(n) bytes(n) pad
 *   str(")")
 *
 * so the NAR's own bytes are what the parser's events re-serialise to, and
 * its hash is the hash of those bytes. Anything else (a directory, a
 * symlink, odd padding, trailing bytes) gives undefined: the caller then
 * takes the general parser, which reports errors in its own words.
 */
import { serialiseNar, regularFromBytes } from '../../formats/index.js';

export interface SingleFileNar {
  /** A view into the NAR (not a copy). */
  contents: Uint8Array;
  executable: boolean;
}

/** The NAR head up to the `contents` length field (both forms). */
function headOf(executable: boolean): Uint8Array {
  const empty = serialiseNar(regularFromBytes(new Uint8Array(0), executable));
  // head + u64 0 + str(")") (16 bytes).
  return empty.slice(0, empty.length - 16 - 8);
}
const HEADS = [headOf(false), headOf(true)] as const;
/** str(")"): u64 1, ")" and 7 zero bytes. */
const TAIL = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0x29, 0, 0, 0, 0, 0, 0, 0);

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** `nar` as a single regular file, if it is exactly one in canonical form (nothing after it). */
export function singleFileNar(nar: Uint8Array): SingleFileNar | undefined {
  // The two heads differ from byte 48 on ("contents" vs "executable"): one full compare at most.
  const executable = !startsWith(nar, HEADS[0]);
  const head = HEADS[executable ? 1 : 0];
  if (executable && !startsWith(nar, head)) return undefined;
  const at = head.length;
  if (nar.length < at + 8) return undefined;
  const lo = nar[at]! | (nar[at + 1]! << 8) | (nar[at + 2]! << 16) | (nar[at + 3]! << 24);
  for (let i = 4; i < 8; i++) if (nar[at + i] !== 0) return undefined; // ≥ 4 GiB: not in memory anyway
  const size = lo >>> 0;
  const start = at + 8;
  const pad = (8 - (size % 8)) % 8;
  if (nar.length !== start + size + pad + TAIL.length) return undefined;
  for (let i = 0; i < pad; i++) if (nar[start + size + i] !== 0) return undefined;
  const tail = start + size + pad;
  for (let i = 0; i < TAIL.length; i++) if (nar[tail + i] !== TAIL[i]) return undefined;
  return { contents: nar.subarray(start, start + size), executable };
}

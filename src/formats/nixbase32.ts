/**
 * nix-base32 (libutil/hash.cc `printHash32`/`parseHash32`).
 *
 * Not RFC 4648: the bytes are one little-endian integer printed most
 * significant digit first, so the first character holds the top bits of the
 * last byte. Decoding rejects bits that would overflow the last byte, as Nix does.
 */
import { NixError } from '../core/index.js';
import { FormatsErrorCode } from './errors.js';

export const BASE32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

const DIGIT = new Int8Array(256).fill(-1);
for (let i = 0; i < BASE32_ALPHABET.length; i++) DIGIT[BASE32_ALPHABET.charCodeAt(i)] = i;

/** Number of base-32 characters needed for `size` bytes. */
export function base32Len(size: number): number {
  return Math.floor((size * 8 - 1) / 5) + 1;
}

export function encodeBase32(h: Uint8Array): string {
  const len = base32Len(h.length);
  let s = '';
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    const c = ((h[i]! >> j) | (i + 1 < h.length ? h[i + 1]! << (8 - j) : 0)) & 0x1f;
    s += BASE32_ALPHABET[c];
  }
  return s;
}

/** Decode exactly `size` bytes; throws NixError on a bad character, length or overflow. */
export function decodeBase32(s: string, size: number = decodedBase32Size(s)): Uint8Array {
  if (s.length !== base32Len(size)) {
    throw new NixError(FormatsErrorCode.E_BASE32_INVALID, `invalid base-32 hash '${s}'`);
  }
  const out = new Uint8Array(size);
  const len = s.length;
  for (let n = 0; n < len; n++) {
    const c = DIGIT[s.charCodeAt(len - n - 1) & 0xff]!;
    if (c < 0 || s.charCodeAt(len - n - 1) > 0xff) {
      throw new NixError(FormatsErrorCode.E_BASE32_INVALID, `invalid base-32 hash '${s}'`);
    }
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i]! |= (c << j) & 0xff;
    const carry = c >> (8 - j);
    if (i < size - 1) out[i + 1]! |= carry;
    else if (carry !== 0) {
      throw new NixError(FormatsErrorCode.E_BASE32_INVALID, `invalid base-32 hash '${s}'`);
    }
  }
  return out;
}

/** The byte size a base-32 string of this length decodes to (largest fitting). */
export function decodedBase32Size(s: string): number {
  return Math.floor((s.length * 5) / 8);
}

export function isBase32(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (DIGIT[s.charCodeAt(i) & 0xff]! < 0 || s.charCodeAt(i) > 0xff) return false;
  return true;
}

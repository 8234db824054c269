/**
 * Hashes (libutil/hash.cc): md5, sha1, sha256, sha512, printed in base16,
 * nix-base32, base64 or SRI, and parsed from every form Nix 2.8 accepts.
 */
import * as nodeCrypto from 'node:crypto';
import { NixError } from '../core/index.js';
import { FormatsErrorCode } from './errors.js';
import { base32Len, decodeBase32, encodeBase32 } from './nixbase32.js';

export type HashType = 'md5' | 'sha1' | 'sha256' | 'sha512';
export type HashBase = 'base16' | 'base32' | 'base64' | 'sri';

export const HASH_SIZES: Record<HashType, number> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

export function isHashType(s: string): s is HashType {
  return s === 'md5' || s === 'sha1' || s === 'sha256' || s === 'sha512';
}

export function parseHashType(s: string): HashType {
  if (!isHashType(s)) throw new NixError(FormatsErrorCode.E_HASH_TYPE_UNKNOWN, `unknown hash algorithm '${s}'`);
  return s;
}

export function base16Len(size: number): number {
  return size * 2;
}
export function base64Len(size: number): number {
  return ((4 * size) / 3 + 3) & ~3;
}

export class Hash {
  readonly digest: Uint8Array;

  /**
   * A Buffer digest is kept as a plain Uint8Array view of the same memory:
   * every Hash then has the same shape, so hot code handling hashes made
   * both ways is not deoptimised ("wrong map") and recompiled.
   */
  constructor(readonly type: HashType, digest: Uint8Array) {
    if (digest.length !== HASH_SIZES[type]) throw new Error(`Assertion failed: ${type} digest size`);
    this.digest = Buffer.isBuffer(digest) ? new Uint8Array(digest.buffer, digest.byteOffset, digest.length) : digest;
  }

  /** Nix's `Hash::to_string(base, includeType)`. */
  toString(base: HashBase = 'base32', includeType = true): string {
    if (base === 'sri') return `${this.type}-${this.encode('base64')}`;
    const body = this.encode(base);
    return includeType ? `${this.type}:${body}` : body;
  }

  encode(base: Exclude<HashBase, 'sri'>): string {
    if (base === 'base32') return encodeBase32(this.digest);
    // A view, not a copy of the digest.
    const b = Buffer.from(this.digest.buffer, this.digest.byteOffset, this.digest.length);
    return b.toString(base === 'base16' ? 'hex' : 'base64');
  }

  get base16(): string {
    return this.encode('base16');
  }
  get base32(): string {
    return this.encode('base32');
  }
  get sri(): string {
    return this.toString('sri');
  }

  equals(o: Hash): boolean {
    return this.type === o.type && Buffer.compare(this.digest, o.digest) === 0;
  }
}

/**
 * Node ≥ 20.12's one-shot digest: no Hash object to make and finalise, about
 * half the time of `createHash` for the short inputs of store path and
 * content-address fingerprints.
 */
const oneShot = (nodeCrypto as { hash?: (algo: string, data: Uint8Array | string, enc: 'buffer') => Buffer }).hash;

export function hashBytes(type: HashType, data: Uint8Array | string): Hash {
  return new Hash(type, oneShot !== undefined ? oneShot(type, data, 'buffer') : nodeCrypto.createHash(type).update(data).digest());
}

/** An incremental hasher (HashSink). */
export class HashSink {
  private readonly h;
  bytes = 0;
  constructor(readonly type: HashType) {
    this.h = nodeCrypto.createHash(type);
  }
  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.h.update(chunk);
  }
  finish(): Hash {
    return new Hash(this.type, this.h.digest());
  }
}

/** 160-bit XOR fold used for store path hash parts (`compressHash`). */
export function compressHash(h: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < h.length; i++) out[i % size]! ^= h[i]!;
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_DIGIT = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_DIGIT[B64.charCodeAt(i)] = i;

/** base64 decoding as Nix does it: stop at the first '=', skip newlines, reject anything else. */
export function decodeBase64Strict(s: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 0x3d) break; // '='
    if (ch === 0x0a) continue;
    const d = ch < 256 ? B64_DIGIT[ch]! : -1;
    if (d < 0) throw new NixError(FormatsErrorCode.E_HASH_INVALID, 'invalid character in Base64 string');
    acc = (acc << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return new Uint8Array(out);
}

function badHash(s: string, why: string): NixError {
  return new NixError(FormatsErrorCode.E_HASH_INVALID, `hash '${s}' ${why}`);
}

function decodeByLength(original: string, body: string, type: HashType, isSRI: boolean): Hash {
  const size = HASH_SIZES[type];
  if (!isSRI && body.length === base16Len(size)) {
    if (!/^[0-9a-fA-F]*$/.test(body)) throw badHash(original, 'has invalid base-16 digits'); // never reached for odd text
    return new Hash(type, new Uint8Array(Buffer.from(body, 'hex')));
  }
  if (!isSRI && body.length === base32Len(size)) {
    try {
      return new Hash(type, decodeBase32(body, size));
    } catch {
      throw new NixError(FormatsErrorCode.E_HASH_INVALID, `invalid base-32 hash '${original}'`);
    }
  }
  if (isSRI || body.length === base64Len(size)) {
    const d = decodeBase64Strict(body);
    if (d.length !== size) throw badHash(original, `has wrong length for hash type '${type}'`);
    return new Hash(type, d);
  }
  throw badHash(original, `has wrong length for hash type '${type}'`);
}

/**
 * Parse any hash form (Nix `Hash::parseAny` / `parseAnyPrefixed`):
 * `algo:body`, `algo-base64` (SRI), or a bare body when `type` is given.
 */
export function parseHash(s: string, type?: HashType): Hash {
  let rest = s;
  let prefix: string | undefined;
  let isSRI = false;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    prefix = s.slice(0, colon);
    rest = s.slice(colon + 1);
  } else {
    const dash = s.indexOf('-');
    if (dash >= 0) {
      prefix = s.slice(0, dash);
      rest = s.slice(dash + 1);
      isSRI = true;
    }
  }
  let ht: HashType;
  if (prefix !== undefined) {
    ht = parseHashType(prefix);
    if (type !== undefined && type !== ht) {
      throw badHash(s, `should have type '${type}'`);
    }
  } else if (type !== undefined) {
    ht = type;
  } else {
    throw new NixError(FormatsErrorCode.E_HASH_INVALID, `hash '${s}' does not include a type, nor is the type otherwise known from context`);
  }
  return decodeByLength(s, rest, ht, isSRI);
}

/** Parse an SRI hash only (`Hash::parseSRI`). */
export function parseSRI(s: string): Hash {
  const dash = s.indexOf('-');
  if (dash < 0) throw new NixError(FormatsErrorCode.E_HASH_INVALID, `hash '${s}' is not SRI`);
  return decodeByLength(s, s.slice(dash + 1), parseHashType(s.slice(0, dash)), true);
}

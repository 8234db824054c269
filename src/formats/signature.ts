/**
 * ed25519 path signatures (libstore/crypto.cc, `ValidPathInfo::fingerprint`,
 * 2.8), with node:crypto instead of libsodium.
 *
 * Keys are `name:base64(bytes)`: a secret key holds the 32-byte seed then the
 * 32-byte public key; a public key holds 32 bytes. A signature is
 * `name:base64(64-byte detached signature)` over the fingerprint
 * `1;<path>;<narHash sha256 base32>;<narSize>;<sorted refs, comma-joined>`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { NixError } from '../core/index.js';
import { FormatsErrorCode } from './errors.js';
import { decodeBase64Strict, type Hash } from './hash.js';
import { compareStorePaths, type StoreDir, type StorePath } from './store-path.js';

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function bad(msg: string): NixError {
  return new NixError(FormatsErrorCode.E_SIGNATURE_INVALID, msg);
}

/** `Key::Key`: split at the first ':'; both parts must be non-empty. */
function splitKey(s: string, what: string): { name: string; key: Uint8Array } {
  const colon = s.indexOf(':');
  const name = colon < 0 ? '' : s.slice(0, colon);
  const body = colon < 0 ? '' : s.slice(colon + 1);
  if (name === '' || body === '') throw bad(`${what} is corrupt`);
  return { name, key: decodeBase64Strict(body) };
}

export class SecretKey {
  private readonly key: KeyObject;
  private constructor(readonly name: string, readonly bytes: Uint8Array) {
    this.key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, bytes.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  }

  static parse(s: string): SecretKey {
    const { name, key } = splitKey(s.trim(), 'secret key');
    if (key.length !== 64) throw bad('secret key is not valid');
    return new SecretKey(name, key);
  }

  /** `name:base64(signature)`. */
  signDetached(data: string | Uint8Array): string {
    const sig = sign(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, this.key);
    return `${this.name}:${sig.toString('base64')}`;
  }

  toPublicKey(): PublicKey {
    return PublicKey.fromBytes(this.name, this.bytes.subarray(32));
  }

  toString(): string {
    return `${this.name}:${Buffer.from(this.bytes).toString('base64')}`;
  }

  /** `nix-store --generate-binary-cache-key`. */
  static generate(name: string): SecretKey {
    const { privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const seed = der.subarray(der.length - 32);
    const pub = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
    return new SecretKey(name, new Uint8Array(Buffer.concat([seed, pub])));
  }
}

export class PublicKey {
  private readonly key: KeyObject;
  private constructor(readonly name: string, readonly bytes: Uint8Array) {
    this.key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, bytes]), format: 'der', type: 'spki' });
  }

  static parse(s: string): PublicKey {
    const { name, key } = splitKey(s.trim(), 'public key');
    if (key.length !== 32) throw bad('public key is not valid');
    return new PublicKey(name, key);
  }

  static fromBytes(name: string, bytes: Uint8Array): PublicKey {
    return new PublicKey(name, new Uint8Array(bytes));
  }

  verifyDetached(data: string | Uint8Array, sig: Uint8Array): boolean {
    if (sig.length !== 64) return false;
    return verify(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, this.key, sig);
  }

  toString(): string {
    return `${this.name}:${Buffer.from(this.bytes).toString('base64')}`;
  }
}

/** Public keys by name (`trusted-public-keys`). */
export type PublicKeys = Map<string, PublicKey>;

export function parsePublicKeys(list: Iterable<string>): PublicKeys {
  const m: PublicKeys = new Map();
  for (const s of list) {
    const k = PublicKey.parse(s);
    m.set(k.name, k);
  }
  return m;
}

/** `verifyDetached(data, sig, publicKeys)`: the key named by the signature's prefix must verify it. */
export function verifySignature(data: string, sig: string, keys: PublicKeys): boolean {
  const colon = sig.indexOf(':');
  if (colon < 0) return false;
  const key = keys.get(sig.slice(0, colon));
  if (key === undefined) return false;
  let raw: Uint8Array;
  try {
    raw = decodeBase64Strict(sig.slice(colon + 1));
  } catch {
    return false;
  }
  return key.verifyDetached(data, raw);
}

export interface FingerprintInput {
  path: StorePath;
  narHash: Hash;
  narSize: number;
  references: readonly StorePath[];
}

/** `ValidPathInfo::fingerprint`. */
export function pathFingerprint(storeDir: StoreDir, info: FingerprintInput): string {
  if (info.narSize === 0) {
    throw bad(`cannot calculate fingerprint of path '${storeDir.print(info.path)}' because its size is not known`);
  }
  const refs = [...info.references].sort(compareStorePaths).map((r) => storeDir.print(r)).join(',');
  return `1;${storeDir.print(info.path)};${info.narHash.toString('base32', true)};${info.narSize};${refs}`;
}

/** Sign a path's info: returns the `Sig` string. */
export function signPathInfo(storeDir: StoreDir, info: FingerprintInput, key: SecretKey): string {
  return key.signDetached(pathFingerprint(storeDir, info));
}

/** How many of `sigs` verify against `keys` (`checkSignatures`). */
export function countValidSignatures(storeDir: StoreDir, info: FingerprintInput, sigs: readonly string[], keys: PublicKeys): number {
  const fp = pathFingerprint(storeDir, info);
  let n = 0;
  for (const s of new Set(sigs)) if (verifySignature(fp, s, keys)) n++;
  return n;
}

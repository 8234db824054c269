/**
 * Content-address strings (libstore/content-address.cc, 2.8): the `ca` DB
 * column and the narinfo `CA:` line.
 *
 *   text:sha256:<base32>            text objects (toFile, .drv)
 *   fixed:[r:]<algo>:<base32>       fixed outputs / added paths
 *
 * Parsing accepts any hash encoding Nix accepts; rendering always uses base32.
 * Also the method strings the worker protocol uses (`text:sha256`, `fixed:r:sha256`).
 */
import { NixError } from '../core/index.js';
import { FormatsErrorCode } from './errors.js';
import { parseHash, parseHashType, type Hash, type HashType } from './hash.js';
import type { StoreDir, StorePath } from './store-path.js';

export type ContentAddressMethod = 'text' | 'flat' | 'recursive';

export interface ContentAddress {
  method: ContentAddressMethod;
  hash: Hash;
}

/** `usage`: 2.8 throws these as `UsageError`s, which its CLI follows with a help hint. */
function bad(msg: string, usage = false): NixError {
  return new NixError(FormatsErrorCode.E_CONTENT_ADDRESS_INVALID, msg, { usage });
}

/** `text:sha256:…` / `fixed:r:sha256:…`. */
export function renderContentAddress(ca: ContentAddress): string {
  if (ca.method === 'text') return `text:${ca.hash.toString('base32', true)}`;
  return `fixed:${ca.method === 'recursive' ? 'r:' : ''}${ca.hash.toString('base32', true)}`;
}

/** `parseContentAddress` (2.8 error texts, from its content-address.cc). */
export function parseContentAddress(s: string): ContentAddress {
  const colon = s.indexOf(':');
  if (colon < 0) throw bad(`not a content address because it is not in the form '<prefix>:<rest>': ${s}`, true);
  const prefix = s.slice(0, colon);
  let rest = s.slice(colon + 1);
  if (prefix !== 'text' && prefix !== 'fixed') {
    throw bad(`content address prefix '${prefix}' is unrecognized. Recogonized prefixes are 'text' or 'fixed'`, true);
  }
  const recursive = prefix === 'fixed' && rest.startsWith('r:');
  if (recursive) rest = rest.slice(2);
  const algoEnd = rest.indexOf(':');
  if (algoEnd < 0) throw bad(`content address hash must be in form '<algo>:<hash>', but found: ${s}`, true);
  const hash = parseHash(rest);
  if (prefix === 'text') {
    if (hash.type !== 'sha256') throw bad(`text content address hash should use sha256, but instead uses ${hash.type}`);
    return { method: 'text', hash };
  }
  return { method: recursive ? 'recursive' : 'flat', hash };
}

export function parseContentAddressOpt(s: string): ContentAddress | undefined {
  return s === '' ? undefined : parseContentAddress(s);
}

/** Method+algo strings of the worker protocol (`text:sha256`, `fixed:r:sha1`, `fixed:md5`). */
export function renderContentAddressMethod(method: ContentAddressMethod, algo: HashType): string {
  if (method === 'text') return `text:${algo}`;
  return `fixed:${method === 'recursive' ? 'r:' : ''}${algo}`;
}

export function parseContentAddressMethod(s: string): { method: ContentAddressMethod; hashType: HashType } {
  if (s.startsWith('text:')) return { method: 'text', hashType: parseHashType(s.slice(5)) };
  if (s.startsWith('fixed:r:')) return { method: 'recursive', hashType: parseHashType(s.slice(8)) };
  if (s.startsWith('fixed:')) return { method: 'flat', hashType: parseHashType(s.slice(6)) };
  throw bad(`content address method '${s}' is unrecognized`);
}

/**
 * The store path a content address implies (`makeFixedOutputPathFromCA`):
 * text paths take references; fixed paths take references only for
 * recursive sha256 (the `source` type), plus `self`.
 */
export function makeContentAddressedPath(
  storeDir: StoreDir,
  name: string,
  ca: ContentAddress,
  references: readonly StorePath[] = [],
  hasSelfReference = false,
): StorePath {
  if (ca.method === 'text') {
    if (hasSelfReference) throw bad(`text path '${name}' cannot refer to itself`);
    return storeDir.makeTextPath(name, ca.hash, references);
  }
  return storeDir.makeFixedOutputPath({ recursive: ca.method === 'recursive', hash: ca.hash, name, references, hasSelfReference });
}

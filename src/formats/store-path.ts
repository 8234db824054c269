/**
 * Store paths (libstore/path.cc, store-api.cc `makeStorePath` and friends).
 *
 * A `StorePath` is the base name `<hash32>-<name>` without the store dir; the
 * store dir is passed explicitly so tests can use temp stores. Paths sort by
 * base name byte-wise, which equals sorting the full paths.
 */
import { NixError, compareUtf8 } from '../core/index.js';
import { FormatsErrorCode } from './errors.js';
import { Hash, compressHash, hashBytes } from './hash.js';
import { BASE32_ALPHABET, encodeBase32 } from './nixbase32.js';

export const HASH_PART_LEN = 32;
export const MAX_NAME_LEN = 211;
export const DRV_EXTENSION = '.drv';

export class StorePath {
  readonly hashPart: string;
  readonly name: string;
  /** `<hash>-<name>`, kept: it is printed far more often than it is made. */
  readonly baseName: string;

  /** From a base name `<hash>-<name>`; validates both parts. */
  constructor(baseName: string) {
    // One regex test for a well-formed name; the part-by-part checks only to word an error.
    if (!WELL_FORMED.test(baseName)) checkBaseName(baseName);
    this.hashPart = baseName.slice(0, HASH_PART_LEN);
    this.name = baseName.slice(HASH_PART_LEN + 1);
    this.baseName = baseName;
  }

  static fromParts(hashPart: string, name: string): StorePath {
    return new StorePath(`${hashPart}-${name}`);
  }

  toString(): string {
    return this.baseName;
  }
  isDerivation(): boolean {
    return this.name.endsWith(DRV_EXTENSION);
  }
  equals(o: StorePath): boolean {
    return this.hashPart === o.hashPart && this.name === o.name;
  }
}

/** A valid base name: 32 nixbase32 characters, `-`, and a valid name (see checkName). */
const WELL_FORMED = new RegExp(`^[${BASE32_ALPHABET}]{${HASH_PART_LEN}}-[0-9a-zA-Z+\\-._?=]{1,${MAX_NAME_LEN}}$`);

/** Throw Nix's error for what is wrong with `baseName` (the caller found it is not well formed). */
function checkBaseName(baseName: string): void {
  if (baseName.length < HASH_PART_LEN + 1) {
    throw new NixError(FormatsErrorCode.E_STORE_PATH_INVALID, `'${baseName}' is too short to be a valid store path`);
  }
  for (let i = 0; i < HASH_PART_LEN; i++) {
    if (!BASE32_ALPHABET.includes(baseName[i]!)) {
      throw new NixError(FormatsErrorCode.E_STORE_PATH_INVALID, `store path '${baseName}' contains illegal base-32 character '${baseName[i]}'`);
    }
  }
  checkName(baseName, baseName.slice(HASH_PART_LEN + 1));
}

export function compareStorePaths(a: StorePath, b: StorePath): number {
  return compareUtf8(a.baseName, b.baseName);
}

/** Nix's `checkName`: 1..211 bytes of [0-9a-zA-Z+\-._?=]. */
export function checkName(path: string, name: string): void {
  if (name.length === 0) {
    throw new NixError(FormatsErrorCode.E_STORE_PATH_NAME_INVALID, `store path '${path}' has an empty name`);
  }
  if (name.length > MAX_NAME_LEN) {
    throw new NixError(FormatsErrorCode.E_STORE_PATH_NAME_INVALID, `store path '${path}' has a name longer than ${MAX_NAME_LEN} characters`);
  }
  for (const c of name) {
    if (!/^[0-9a-zA-Z+\-._?=]$/.test(c)) {
      throw new NixError(FormatsErrorCode.E_STORE_PATH_NAME_INVALID, `store path '${path}' contains illegal character '${c}'`);
    }
  }
}

export function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LEN && /^[0-9a-zA-Z+\-._?=]+$/.test(name);
}

/** The store directory a path must sit directly in, e.g. `/nix/store`. */
export class StoreDir {
  constructor(readonly dir: string) {
    if (!dir.startsWith('/') || (dir.length > 1 && dir.endsWith('/'))) {
      throw new Error(`Assertion failed: store dir '${dir}' must be absolute, without trailing slash`);
    }
  }

  print(p: StorePath): string {
    return `${this.dir}/${p.baseName}`;
  }

  /** Parse a full path that must sit directly in this store dir (no canonicalisation of `..`). */
  parse(path: string): StorePath {
    const slash = path.lastIndexOf('/');
    const parent = slash <= 0 ? '/' : path.slice(0, slash);
    if (parent !== this.dir) {
      throw new NixError(FormatsErrorCode.E_STORE_PATH_INVALID, `path '${path}' is not in the Nix store`);
    }
    return new StorePath(path.slice(slash + 1));
  }

  isStorePath(path: string): boolean {
    try {
      this.parse(path);
      return true;
    } catch {
      return false;
    }
  }

  /** `isInStore`: the path is the store path or something under it. */
  isInStore(path: string): boolean {
    return path.startsWith(this.dir + '/') && path.length > this.dir.length + 1;
  }

  /** Split `/store/xxx-name/sub/dir` into the store path and the rest. */
  toStorePath(path: string): [StorePath, string] {
    if (!this.isInStore(path)) {
      throw new NixError(FormatsErrorCode.E_STORE_PATH_INVALID, `path '${path}' is not in the Nix store`);
    }
    const rest = path.slice(this.dir.length + 1);
    const slash = rest.indexOf('/');
    if (slash < 0) return [new StorePath(rest), ''];
    return [new StorePath(rest.slice(0, slash)), rest.slice(slash)];
  }

  /** `makeStorePath(type, innerHash, name)`. */
  makeStorePath(type: string, inner: Hash, name: string): StorePath {
    const fp = `${type}:sha256:${inner.base16}:${this.dir}:${name}`;
    const h = compressHash(hashBytes('sha256', fp).digest, 20);
    return StorePath.fromParts(encodeBase32(h), name);
  }

  makeType(type: string, references: readonly StorePath[], hasSelfReference = false): string {
    let t = type;
    const sorted = [...references].sort(compareStorePaths);
    for (const r of sorted) t += `:${this.print(r)}`;
    if (hasSelfReference) t += ':self';
    return t;
  }

  makeOutputPath(id: string, hashModulo: Hash, name: string): StorePath {
    return this.makeStorePath(`output:${id}`, hashModulo, outputPathName(name, id));
  }

  /** Text objects (`toFile`, `.drv`s): references but never self. */
  makeTextPath(name: string, contentHash: Hash, references: readonly StorePath[]): StorePath {
    if (contentHash.type !== 'sha256') throw new Error('Assertion failed: text paths use sha256');
    return this.makeStorePath(this.makeType('text', references), contentHash, name);
  }

  /**
   * `makeFixedOutputPath`. Recursive sha256 uses the `source` type (with refs
   * and self); every other method/algo is `output:out` over a `fixed:out:` digest.
   */
  makeFixedOutputPath(opts: {
    recursive: boolean;
    hash: Hash;
    name: string;
    references?: readonly StorePath[];
    hasSelfReference?: boolean;
  }): StorePath {
    const refs = opts.references ?? [];
    if (opts.recursive && opts.hash.type === 'sha256') {
      return this.makeStorePath(this.makeType('source', refs, opts.hasSelfReference ?? false), opts.hash, opts.name);
    }
    if (refs.length > 0 || opts.hasSelfReference) {
      throw new NixError(FormatsErrorCode.E_STORE_PATH_INVALID, `fixed-output path '${opts.name}' cannot have references`);
    }
    const inner = hashBytes('sha256', `fixed:out:${opts.recursive ? 'r:' : ''}${opts.hash.type}:${opts.hash.base16}:`);
    return this.makeStorePath('output:out', inner, opts.name);
  }
}

/** `<drvName>` for `out`, else `<drvName>-<output>`. */
export function outputPathName(drvName: string, outputName: string): string {
  return outputName === 'out' ? drvName : `${drvName}-${outputName}`;
}

/** The placeholder for an output (`builtins.placeholder`, `hashPlaceholder`). */
export function hashPlaceholder(outputName: string): string {
  return '/' + encodeBase32(hashBytes('sha256', `nix-output:${outputName}`).digest);
}

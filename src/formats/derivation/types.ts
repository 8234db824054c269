/**
 * The `Derivation` record (libstore/derivations.hh, Nix 2.8).
 *
 * Every string here is a **byte string**: one JS char per byte (latin1), the
 * same representation the evaluator uses for Nix strings. That keeps `.drv`
 * files byte-exact (non-UTF-8 env values survive a parse/print round trip)
 * and makes JS `<` on keys equal to Nix's byte-wise order. Use
 * `byteString`/`fromByteString` at the edges.
 *
 * Paths (output paths, `inputDrvs` keys, `inputSrcs`) are full store paths.
 * Output tuples keep the raw ATerm fields; `outputKind` classifies them the
 * way 2.8's `parseDerivationOutput` does.
 */
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../errors.js';
import { Hash, parseHash, parseHashType, type HashType } from '../hash.js';

export interface DerivationOutput {
  /** Full store path, or '' when unknown (floating CA, deferred, impure). */
  path: string;
  /** '' for input-addressed, else `[r:|text:]<algo>`. */
  hashAlgo: string;
  /** Lowercase base16 for fixed outputs, 'impure', or ''. */
  hash: string;
}

export interface Derivation {
  /** The derivation name (the `.drv` base name without hash and `.drv`). */
  name: string;
  /** Output name → output. */
  outputs: Map<string, DerivationOutput>;
  /** Full `.drv` path → wanted output names. */
  inputDrvs: Map<string, Set<string>>;
  /** Full store paths. */
  inputSrcs: Set<string>;
  platform: string;
  builder: string;
  args: string[];
  env: Map<string, string>;
}

export type OutputKind = 'inputAddressed' | 'fixed' | 'floating' | 'deferred' | 'impure';

/** Which of 2.8's `DerivationOutput` variants this tuple is. */
export function outputKind(o: DerivationOutput): OutputKind {
  if (o.hashAlgo !== '') {
    if (o.hash === 'impure') return 'impure';
    return o.hash !== '' ? 'fixed' : 'floating';
  }
  return o.path === '' ? 'deferred' : 'inputAddressed';
}

export type FileIngestion = 'flat' | 'recursive' | 'text';

/** Split `r:sha256` / `text:sha256` / `sha256`. */
export function parseMethodAlgo(s: string): { method: FileIngestion; hashType: HashType } {
  if (s.startsWith('r:')) return { method: 'recursive', hashType: parseHashType(s.slice(2)) };
  if (s.startsWith('text:')) return { method: 'text', hashType: parseHashType(s.slice(5)) };
  return { method: 'flat', hashType: parseHashType(s) };
}

export function printMethodAlgo(method: FileIngestion, hashType: HashType): string {
  return (method === 'recursive' ? 'r:' : method === 'text' ? 'text:' : '') + hashType;
}

/** The fixed-output hash of an output (`FixedOutputHash`), or undefined. */
export function fixedOutputHash(o: DerivationOutput): { method: FileIngestion; hash: Hash } | undefined {
  if (outputKind(o) !== 'fixed') return undefined;
  const { method, hashType } = parseMethodAlgo(o.hashAlgo);
  if (!/^[0-9a-fA-F]*$/.test(o.hash)) {
    throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, `invalid base-16 hash '${o.hash}' in derivation output`);
  }
  return { method, hash: parseHash(o.hash, hashType) };
}

export type DerivationType = 'inputAddressed' | 'fixed' | 'floating' | 'deferred' | 'impure';

/**
 * 2.8's `Derivation::type()`: all outputs must be of one kind; a fixed-output
 * derivation has exactly one output, `out`.
 */
export function derivationType(drv: Derivation): DerivationType {
  const kinds = new Set([...drv.outputs.values()].map(outputKind));
  if (kinds.size === 0) throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, 'must have at least one output');
  // Deferred outputs sit beside input-addressed ones only in a drv being created.
  if (kinds.size === 2 && kinds.has('inputAddressed') && kinds.has('deferred')) return 'inputAddressed';
  if (kinds.size > 1) throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, 'must have the same kind of output for all outputs');
  const kind = [...kinds][0]!;
  if (kind === 'fixed' && (drv.outputs.size !== 1 || !drv.outputs.has('out'))) {
    throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, "only one output, named 'out', is allowed in a fixed-output derivation");
  }
  return kind;
}

/** A JS (UTF-16) string as a byte string of its UTF-8 encoding. */
export function byteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** A byte string decoded as UTF-8 (lossy for invalid sequences). */
export function fromByteString(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** Byte-wise order; correct for byte strings (all chars < 256). */
export function compareByteStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedKeys<V>(m: Map<string, V>): string[] {
  return [...m.keys()].sort(compareByteStrings);
}

/** A deep copy (derivations are values; callers mutate copies). */
export function cloneDerivation(d: Derivation): Derivation {
  return {
    name: d.name,
    outputs: new Map([...d.outputs].map(([k, v]) => [k, { ...v }])),
    inputDrvs: new Map([...d.inputDrvs].map(([k, v]) => [k, new Set(v)])),
    inputSrcs: new Set(d.inputSrcs),
    platform: d.platform,
    builder: d.builder,
    args: [...d.args],
    env: new Map(d.env),
  };
}

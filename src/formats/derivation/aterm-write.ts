/**
 * ATerm printing of a derivation (libstore/derivations.cc `unparse`, 2.8).
 *
 * No whitespace, no trailing newline, every collection sorted byte-wise.
 * Only builder, args and env are escaped (`" \ \n \r \t`); output names,
 * paths, hash fields and platform are written raw, as Nix does.
 */
import { sortedKeys, compareByteStrings, type Derivation } from './types.js';

export interface PrintOptions {
  /** Print output paths and output-named env values as "" (the modulo hash). */
  maskOutputs?: boolean;
  /** Replace `inputDrvs` (hashDerivationModulo prints hex hashes here). */
  inputDrvs?: Map<string, Set<string>>;
}

const ESCAPE_RE = /["\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function quoted(s: string): string {
  return `"${s.replace(ESCAPE_RE, (c) => ESCAPES[c]!)}"`;
}

function raw(s: string): string {
  return `"${s}"`;
}

function rawList(xs: Iterable<string>): string {
  return `[${[...xs].sort(compareByteStrings).map(raw).join(',')}]`;
}

/** The `.drv` text as a byte string (latin1: one char per byte). */
export function printDerivation(drv: Derivation, opts: PrintOptions = {}): string {
  const mask = opts.maskOutputs ?? false;
  const outputs = sortedKeys(drv.outputs).map((name) => {
    const o = drv.outputs.get(name)!;
    return `(${raw(name)},${raw(mask ? '' : o.path)},${raw(o.hashAlgo)},${raw(o.hash)})`;
  });
  const inputDrvsMap = opts.inputDrvs ?? drv.inputDrvs;
  const inputDrvs = sortedKeys(inputDrvsMap).map((p) => `(${raw(p)},${rawList(inputDrvsMap.get(p)!)})`);
  const env = sortedKeys(drv.env).map((k) => {
    const v = mask && drv.outputs.has(k) ? '' : drv.env.get(k)!;
    return `(${quoted(k)},${quoted(v)})`;
  });
  return (
    `Derive([${outputs.join(',')}],[${inputDrvs.join(',')}],${rawList(drv.inputSrcs)},` +
    `${raw(drv.platform)},${quoted(drv.builder)},[${drv.args.map(quoted).join(',')}],[${env.join(',')}])`
  );
}

/** The `.drv` file bytes. */
export function derivationBytes(drv: Derivation, opts: PrintOptions = {}): Uint8Array {
  return new Uint8Array(Buffer.from(printDerivation(drv, opts), 'latin1'));
}

/**
 * The parts of a `.drv` the builder needs (Nix `BasicDerivation` plus
 * `ParsedDerivation` attribute access), read from the store's file with the
 * formats layer's ATerm parser.
 *
 * The builder works on text: every string of the parsed (byte-string)
 * derivation is decoded as UTF-8, which is what decoding the whole file first
 * gives, since quotes and escapes are ASCII and never part of a multi-byte
 * sequence.
 */
import { readFileSync } from 'node:fs';
import { NixError } from '../core/index.js';
import { parseDerivation, type StorePath, type StoreDir } from '../formats/index.js';
import { BuildErrorCode } from './errors.js';

export interface DrvOutput {
  /** Full path; undefined for floating CA / deferred outputs. */
  path: string | undefined;
  hashAlgo: string;
  hash: string;
}

export interface BuildDrv {
  drvPath: StorePath;
  /** The derivation name (the drv base name without `.drv`). */
  name: string;
  outputs: Map<string, DrvOutput>;
  /** Input drv full path → wanted output names. */
  inputDrvs: Map<string, string[]>;
  inputSrcs: string[];
  platform: string;
  builder: string;
  args: string[];
  env: Map<string, string>;
}

const NON_ASCII = /[\x80-\xff]/;

/** A byte string (one char per byte) as text. */
function text(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** Parse `.drv` bytes (a string is taken as text and encoded as UTF-8 first). */
export function parseDrvText(data: Uint8Array | string, drvPath: StorePath, storeDir: StoreDir): BuildDrv {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const name = drvPath.name.slice(0, -'.drv'.length);
  let d;
  try {
    d = parseDerivation(bytes, name);
  } catch (e) {
    throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `error parsing derivation '${storeDir.print(drvPath)}': ${(e as Error).message}`);
  }
  const outputs = new Map<string, DrvOutput>();
  for (const [n, o] of d.outputs) outputs.set(text(n), { path: o.path === '' ? undefined : text(o.path), hashAlgo: o.hashAlgo, hash: o.hash });
  const inputDrvs = new Map<string, string[]>();
  for (const [p, outs] of d.inputDrvs) inputDrvs.set(text(p), [...outs].map(text));
  const env = new Map<string, string>();
  for (const [k, v] of d.env) env.set(text(k), text(v));
  return {
    drvPath,
    name,
    outputs,
    inputDrvs,
    inputSrcs: [...d.inputSrcs].map(text),
    platform: text(d.platform),
    builder: text(d.builder),
    args: d.args.map(text),
    env,
  };
}

/**
 * Derivations parsed by this process, by file, with the bytes they were
 * parsed from. One build command reads a .drv several times (what will be
 * built, the dependency order it is printed in, the goal, the output paths
 * printed at the end); each read still reads the file, but parses only when
 * its bytes differ. Callers treat a `BuildDrv` as immutable (goals share them).
 */
const parsed = new Map<string, { data: Buffer; storeDir: string; drv: BuildDrv }>();
/** A daemon reads many derivations: start over rather than grow without bound. */
const MAX_PARSED = 2048;

/** Read a `.drv` from the (local) store's file system. */
export function readDerivation(storeDir: StoreDir, drvPath: StorePath, realStoreDir = storeDir.dir): BuildDrv {
  const file = `${realStoreDir}/${drvPath.baseName}`;
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `opening derivation '${storeDir.print(drvPath)}': ${(e as Error).message}`);
  }
  const hit = parsed.get(file);
  if (hit !== undefined && hit.storeDir === storeDir.dir && hit.data.equals(data)) return hit.drv;
  const drv = parseDrvText(data, drvPath, storeDir);
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(file, { data, storeDir: storeDir.dir, drv });
  return drv;
}

export function isFixedOutput(drv: BuildDrv): boolean {
  const out = drv.outputs.get('out');
  return drv.outputs.size === 1 && out !== undefined && out.hash !== '' && out.path !== undefined;
}

/** Structured attrs (`__json`), parsed once. */
export function structuredAttrs(drv: BuildDrv): Record<string, unknown> | undefined {
  const j = drv.env.get('__json');
  if (j === undefined) return undefined;
  try {
    return JSON.parse(j) as Record<string, unknown>;
  } catch {
    throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `cannot process __json attribute of '${drv.drvPath.baseName}'`);
  }
}

/** ParsedDerivation `getStringsAttr`: a list from structured attrs, or a whitespace-split env value. */
export function getStringsAttr(drv: BuildDrv, name: string): string[] | undefined {
  const sa = structuredAttrs(drv);
  if (sa !== undefined) {
    const v = sa[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `attribute '${name}' of derivation '${drv.drvPath.baseName}' must be a list of strings`);
    }
    return v as string[];
  }
  const v = drv.env.get(name);
  if (v === undefined) return undefined;
  return v.split(/[ \t\n\r]+/).filter((w) => w !== '');
}

/** ParsedDerivation `getBoolAttr`. */
export function getBoolAttr(drv: BuildDrv, name: string, def = false): boolean {
  const sa = structuredAttrs(drv);
  if (sa !== undefined) {
    const v = sa[name];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `attribute '${name}' of derivation '${drv.drvPath.baseName}' must be a Boolean`);
    return v;
  }
  const v = drv.env.get(name);
  return v === undefined ? def : v === '1';
}

/** Parse a drv full path (as it appears in inputDrvs). */
export function drvStorePath(storeDir: StoreDir, full: string): StorePath {
  return storeDir.parse(full);
}


/**
 * The parts of a `.drv` the builder needs (Nix `BasicDerivation` plus
 * `ParsedDerivation` attribute access), read from the store's file.
 *
 * TODO(formats): switch `parseDrvText` to formats' ATerm parser once it lands;
 * this local reader exists only so the builder does not wait on it. It keeps
 * the same rules: strings unescape `\n \r \t` and `\X` → X.
 */
import { readFileSync } from 'node:fs';
import { NixError } from '../core/index.js';
import { StorePath, type StoreDir } from '../formats/index.js';
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

class Reader {
  pos = 0;
  constructor(readonly s: string, readonly what: string) {}
  fail(): never {
    throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `error parsing derivation '${this.what}': expected a valid derivation at offset ${this.pos}`);
  }
  expect(t: string): void {
    if (!this.s.startsWith(t, this.pos)) this.fail();
    this.pos += t.length;
  }
  peek(t: string): boolean {
    return this.s.startsWith(t, this.pos);
  }
  str(): string {
    this.expect('"');
    let out = '';
    for (;;) {
      const c = this.s[this.pos++];
      if (c === undefined) this.fail();
      if (c === '"') return out;
      if (c === '\\') {
        const e = this.s[this.pos++];
        if (e === undefined) this.fail();
        out += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e;
      } else out += c;
    }
  }
  list<T>(item: () => T): T[] {
    this.expect('[');
    const out: T[] = [];
    while (!this.peek(']')) {
      if (out.length > 0) this.expect(',');
      out.push(item());
    }
    this.expect(']');
    return out;
  }
}

export function parseDrvText(text: string, drvPath: StorePath, storeDir: StoreDir): BuildDrv {
  const r = new Reader(text, storeDir.print(drvPath));
  r.expect('Derive(');
  const outputs = new Map<string, DrvOutput>();
  for (const [name, path, hashAlgo, hash] of r.list(() => {
    r.expect('(');
    const t = [r.str(), (r.expect(','), r.str()), (r.expect(','), r.str()), (r.expect(','), r.str())] as const;
    r.expect(')');
    return t;
  })) outputs.set(name, { path: path === '' ? undefined : path, hashAlgo, hash });
  r.expect(',');
  const inputDrvs = new Map<string, string[]>();
  for (const [p, outs] of r.list(() => {
    r.expect('(');
    const p = r.str();
    r.expect(',');
    const outs = r.list(() => r.str());
    r.expect(')');
    return [p, outs] as const;
  })) inputDrvs.set(p, outs);
  r.expect(',');
  const inputSrcs = r.list(() => r.str());
  r.expect(',');
  const platform = r.str();
  r.expect(',');
  const builder = r.str();
  r.expect(',');
  const args = r.list(() => r.str());
  r.expect(',');
  const env = new Map<string, string>();
  for (const [k, v] of r.list(() => {
    r.expect('(');
    const k = r.str();
    r.expect(',');
    const v = r.str();
    r.expect(')');
    return [k, v] as const;
  })) env.set(k, v);
  r.expect(')');
  const name = drvPath.name.slice(0, -'.drv'.length);
  return { drvPath, name, outputs, inputDrvs, inputSrcs, platform, builder, args, env };
}

/** Read a `.drv` from the (local) store's file system. */
export function readDerivation(storeDir: StoreDir, drvPath: StorePath, realStoreDir = storeDir.dir): BuildDrv {
  let text: string;
  try {
    text = readFileSync(`${realStoreDir}/${drvPath.baseName}`, 'utf8');
  } catch (e) {
    throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `opening derivation '${storeDir.print(drvPath)}': ${(e as Error).message}`);
  }
  return parseDrvText(text, drvPath, storeDir);
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

void StorePath;

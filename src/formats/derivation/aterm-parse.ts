/**
 * ATerm parsing of a `.drv` (libstore/derivations.cc `parseDerivation`, 2.8).
 *
 * Strings are unescaped as Nix does (`\n \r \t`, `\X` → X) everywhere; paths
 * must be absolute (and in the store dir, when one is given). Unlike 2.8 we
 * reject trailing bytes after the closing `)`; nothing real writes them.
 */
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../errors.js';
import { parseHashType } from '../hash.js';
import type { StoreDir } from '../store-path.js';
import { parseMethodAlgo, type Derivation, type DerivationOutput } from './types.js';

export interface ParseOptions {
  /** When given, every path must be a valid store path in this dir. */
  storeDir?: StoreDir;
}

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, `${what} at byte ${this.pos} of the derivation`);
  }

  expect(lit: string): void {
    if (!this.s.startsWith(lit, this.pos)) this.fail(`expected string '${lit}'`);
    this.pos += lit.length;
  }

  /** 2.8's `endOfList`: a ',' separates items; ']' ends the list. */
  endOfList(): boolean {
    const c = this.s[this.pos];
    if (c === ',') {
      this.pos++;
      return false;
    }
    if (c === ']') {
      this.pos++;
      return true;
    }
    return false;
  }

  string(): string {
    this.expect('"');
    const s = this.s;
    let out = '';
    let start = this.pos;
    for (;;) {
      const q = s.indexOf('"', this.pos);
      const bs = s.indexOf('\\', this.pos);
      if (q < 0) {
        this.pos = s.length;
        this.fail('unterminated string');
      }
      if (bs < 0 || q < bs) {
        out += s.slice(start, q);
        this.pos = q + 1;
        return out;
      }
      out += s.slice(start, bs);
      const c = s[bs + 1];
      if (c === undefined) {
        this.pos = s.length;
        this.fail('unterminated string');
      }
      out += c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c;
      this.pos = bs + 2;
      start = this.pos;
    }
  }

  path(storeDir: StoreDir | undefined): string {
    const at = this.pos;
    const p = this.string();
    if (!p.startsWith('/')) {
      this.pos = at;
      this.fail(`bad path '${p}' in derivation`);
    }
    if (storeDir) storeDir.parse(p);
    return p;
  }

  strings(): string[] {
    const out: string[] = [];
    while (!this.endOfList()) {
      if (this.pos >= this.s.length) this.fail('unexpected end of derivation');
      out.push(this.string());
    }
    return out;
  }
}

function parseOutput(c: Cursor, storeDir: StoreDir | undefined): DerivationOutput {
  c.expect(',');
  const path = c.string();
  c.expect(',');
  const hashAlgo = c.string();
  c.expect(',');
  const hash = c.string();
  c.expect(')');
  const checkPath = (): void => {
    if (!path.startsWith('/')) c.fail(`bad path '${path}' in derivation`);
    if (storeDir) storeDir.parse(path);
  };
  if (hashAlgo !== '') {
    const { hashType } = parseMethodAlgo(hashAlgo);
    parseHashType(hashType);
    if (hash === 'impure' || hash === '') {
      if (path !== '') c.fail(`output with hash algorithm '${hashAlgo}' must not have a path`);
    } else {
      checkPath();
    }
  } else if (path !== '') {
    checkPath();
  }
  return { path, hashAlgo, hash };
}

function latin1(text: Uint8Array | string): string {
  return typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
}

/**
 * Parse `.drv` bytes (or a byte string). `name` is the derivation name, i.e.
 * the drv file's name without hash and `.drv`.
 */
export function parseDerivation(text: Uint8Array | string, name: string, opts: ParseOptions = {}): Derivation {
  const c = new Cursor(latin1(text));
  const sd = opts.storeDir;
  const drv: Derivation = {
    name, outputs: new Map(), inputDrvs: new Map(), inputSrcs: new Set(), platform: '', builder: '', args: [], env: new Map(),
  };
  c.expect('Derive([');
  while (!c.endOfList()) {
    c.expect('(');
    const id = c.string();
    drv.outputs.set(id, parseOutput(c, sd));
  }
  c.expect(',[');
  while (!c.endOfList()) {
    c.expect('(');
    const p = c.path(sd);
    c.expect(',[');
    drv.inputDrvs.set(p, new Set(c.strings()));
    c.expect(')');
  }
  c.expect(',[');
  for (;;) {
    if (c.endOfList()) break;
    if (c.pos >= c.s.length) c.fail('unexpected end of derivation');
    drv.inputSrcs.add(c.path(sd));
  }
  c.expect(',');
  drv.platform = c.string();
  c.expect(',');
  drv.builder = c.string();
  c.expect(',[');
  drv.args = c.strings();
  c.expect(',[');
  while (!c.endOfList()) {
    c.expect('(');
    const k = c.string();
    c.expect(',');
    const v = c.string();
    c.expect(')');
    drv.env.set(k, v);
  }
  c.expect(')');
  if (c.pos !== c.s.length) c.fail('trailing garbage');
  return drv;
}

/** The derivation name from a `.drv` base name or path (`…/<hash>-foo.drv` → `foo`). */
export function derivationNameFromPath(drvPath: string): string {
  const base = drvPath.slice(drvPath.lastIndexOf('/') + 1);
  const name = base.length > 33 ? base.slice(33) : base;
  return name.endsWith('.drv') ? name.slice(0, -4) : name;
}

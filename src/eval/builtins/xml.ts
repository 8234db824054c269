/**
 * `builtins.toXML` and `nix-instantiate --eval --xml` (Nix 2.8
 * value-to-xml.cc + xml-writer.cc): two-space indentation, attributes in
 * name order, `"` `<` `>` `&` and newline escaped in attribute values,
 * derivations as `<derivation drvPath=… outPath=…>` (`<repeated />` the
 * second time), lambdas as `<function>` with `<varpat>` / `<attrspat>`,
 * primops and thunks as `<unevaluated />`. With `location`, attributes and
 * functions carry `path`/`line`/`column` (for `-E` the path is the
 * expression text, as in 2.8).
 */
import type { Pos } from '../ast.js';
import { formatFloat } from '../print.js';
import { stackOverflow } from '../errors.js';
import {
  Lambda, NixAttrs, NixFloat, NixPath, NixString, Thunk, force, strOf, type Lazy, type Value,
} from '../value.js';
import { listElems } from '../list.js';
import type { BuiltinRegistry } from './registry.js';

export interface XmlOptions {
  strict: boolean;
  location: boolean;
}

type XmlAttrs = Array<[string, string]>;

/** Nesting limit: 2.8 overflows its stack on cyclic values (after minutes); the
 *  indented output of a deeper value would not fit in memory anyway. */
export const MAX_XML_DEPTH = 10000;

const XML_SPECIAL = /["<>&\n]/;

class XmlWriter {
  readonly out: string[] = ["<?xml version='1.0' encoding='utf-8'?>\n"];
  private depth = 0;

  private attrs(a: XmlAttrs): string {
    let s = '';
    for (const [k, v] of [...a].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      s += ` ${k}="`;
      if (!XML_SPECIAL.test(v)) s += v;
      else {
        for (const c of v) {
          s += c === '"' ? '&quot;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '\n' ? '&#xA;' : c;
        }
      }
      s += '"';
    }
    return s;
  }

  open(name: string, a: XmlAttrs = []): void {
    if (this.depth > MAX_XML_DEPTH) throw stackOverflow();
    this.out.push(`${' '.repeat(this.depth * 2)}<${name}${this.attrs(a)}>\n`);
    this.depth++;
  }

  close(name: string): void {
    this.depth--;
    this.out.push(`${' '.repeat(this.depth * 2)}</${name}>\n`);
  }

  empty(name: string, a: XmlAttrs = []): void {
    this.out.push(`${' '.repeat(this.depth * 2)}<${name}${this.attrs(a)} />\n`);
  }
}

function posAttrs(pos: Pos): XmlAttrs {
  const f = pos.file;
  return [['path', f.origin === 'file' ? f.path : f.text], ['line', String(pos.line)], ['column', String(pos.column)]];
}

function isDerivation(a: NixAttrs, strict: boolean): boolean {
  const t = a.get('type');
  if (t === undefined) return false;
  const v = strict || !(t instanceof Thunk) ? force(t) : t.evaluated ? t.value : undefined;
  return (typeof v === 'string' || v instanceof NixString) && strOf(v) === 'derivation';
}

function stringAttr(a: NixAttrs, name: string, strict: boolean): string | undefined {
  const x = a.get(name);
  if (x === undefined) return undefined;
  const v = strict ? force(x) : x instanceof Thunk ? (x.evaluated ? x.value : undefined) : x;
  return typeof v === 'string' || v instanceof NixString ? strOf(v) : undefined;
}

function showAttrs(w: XmlWriter, a: NixAttrs, o: XmlOptions, ctx: Set<string>, seen: Set<string>): void {
  for (const k of a.keys()) {
    const attrs: XmlAttrs = [['name', k]];
    const p = a.posOf(k);
    if (o.location && p) attrs.push(...posAttrs(p));
    w.open('attr', attrs);
    print(w, a.get(k)!, o, ctx, seen);
    w.close('attr');
  }
}

function print(w: XmlWriter, lz: Lazy, o: XmlOptions, ctx: Set<string>, seen: Set<string>): void {
  let v: Value;
  if (lz instanceof Thunk && !o.strict && !lz.evaluated) {
    w.empty('unevaluated');
    return;
  }
  v = force(lz);
  if (typeof v === 'number' || typeof v === 'bigint') return w.empty('int', [['value', v.toString()]]);
  if (typeof v === 'boolean') return w.empty('bool', [['value', v ? 'true' : 'false']]);
  if (typeof v === 'string') return w.empty('string', [['value', v]]);
  if (v === null) return w.empty('null');
  if (v instanceof NixString) {
    for (const c of v.context) ctx.add(c);
    return w.empty('string', [['value', v.s]]);
  }
  if (v instanceof NixPath) return w.empty('path', [['value', v.path]]);
  if (v instanceof NixFloat) return w.empty('float', [['value', formatFloat(v.value)]]);
  if (v instanceof NixAttrs) {
    if (isDerivation(v, o.strict)) {
      const attrs: XmlAttrs = [];
      const drvPath = stringAttr(v, 'drvPath', o.strict);
      if (drvPath !== undefined) attrs.push(['drvPath', drvPath]);
      const outPath = stringAttr(v, 'outPath', o.strict);
      if (outPath !== undefined) attrs.push(['outPath', outPath]);
      w.open('derivation', attrs);
      if (drvPath !== undefined && drvPath !== '' && !seen.has(drvPath)) {
        seen.add(drvPath);
        showAttrs(w, v, o, ctx, seen);
      } else w.empty('repeated');
      w.close('derivation');
      return;
    }
    w.open('attrs');
    showAttrs(w, v, o, ctx, seen);
    w.close('attrs');
    return;
  }
  if (Array.isArray(v)) {
    w.open('list');
    for (const e of listElems(v)) print(w, e, o, ctx, seen);
    w.close('list');
    return;
  }
  if (v instanceof Lambda) {
    const info = v.info;
    w.open('function', o.location ? posAttrs(info.pos) : []);
    if (info.formals) {
      const a: XmlAttrs = [];
      if (info.arg !== null && info.arg !== '') a.push(['name', info.arg]);
      if (info.ellipsis) a.push(['ellipsis', '1']);
      w.open('attrspat', a);
      for (const f of [...info.formals].sort((x, y) => (x.name < y.name ? -1 : 1))) w.empty('attr', [['name', f.name]]);
      w.close('attrspat');
    } else w.empty('varpat', [['name', info.arg ?? '']]);
    w.close('function');
    return;
  }
  w.empty('unevaluated');
}

/** The whole XML document for a value (ends with a newline). */
export function valueToXML(v: Lazy, o: XmlOptions, ctx: Set<string> = new Set()): string {
  const w = new XmlWriter();
  w.open('expr');
  print(w, v, o, ctx, new Set());
  w.close('expr');
  return w.out.join('');
}

export function register(r: BuiltinRegistry): void {
  r.add('toXML', 1, (args: Lazy[]) => {
    const ctx = new Set<string>();
    const s = valueToXML(args[0]!, { strict: true, location: false }, ctx);
    return ctx.size > 0 ? new NixString(s, ctx) : s;
  });
}


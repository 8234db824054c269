/**
 * Parse-time desugaring of Nix 2.8's parser (parser.y `addAttr`, `toFormals`,
 * path literals): nested attribute paths create or merge attribute sets,
 * duplicate attributes and formals are errors with 2.8's texts, and path
 * literals are made absolute and canonical.
 */
import type * as A from './ast.js';
import { EvalError, EvalErrorCode, showPosParens } from './errors.js';
import { printAttrPath, showId } from './parse-print.js';

export type MutAttrs = {
  kind: 'Attrs'; pos: A.Pos; openPos?: A.Pos; rec: boolean; attrs: A.AttrDef[]; dynamicAttrs: A.DynamicAttrDef[];
};

export function parseError(msg: string, pos: A.Pos): EvalError {
  return new EvalError(EvalErrorCode.E_PARSE, msg, pos);
}

/** Name → index of the static attributes of a set being built. */
const attrIndex = new WeakMap<object, Map<string, number>>();

export function indexOf(attrs: MutAttrs): Map<string, number> {
  let m = attrIndex.get(attrs);
  if (m === undefined) {
    m = new Map(attrs.attrs.map((a, i) => [a.name, i]));
    attrIndex.set(attrs, m);
  }
  return m;
}

/** Nix 2.8 `addAttr`: nested paths create/merge attribute sets. */
export function addAttr(top: MutAttrs, path: A.AttrName[], value: A.Expr, pos: A.Pos): void {
  let attrs = top;
  for (let k = 0; k < path.length - 1; k++) {
    const n = path[k]!;
    if (n.kind === 'static') {
      const idx = indexOf(attrs);
      const j = idx.get(n.name);
      if (j !== undefined) {
        const def = attrs.attrs[j]!;
        if (def.inherited || def.value.kind !== 'Attrs') throw dupAttr(path, pos, def.pos);
        attrs = def.value as MutAttrs;
      } else {
        const nested: MutAttrs = { kind: 'Attrs', pos, rec: false, attrs: [], dynamicAttrs: [] };
        idx.set(n.name, attrs.attrs.length);
        attrs.attrs.push({ name: n.name, value: nested, pos, inherited: false });
        attrs = nested;
      }
    } else {
      const nested: MutAttrs = { kind: 'Attrs', pos, rec: false, attrs: [], dynamicAttrs: [] };
      attrs.dynamicAttrs.push({ nameExpr: n.expr, value: nested, pos });
      attrs = nested;
    }
  }
  const last = path[path.length - 1]!;
  if (last.kind === 'dynamic') {
    attrs.dynamicAttrs.push({ nameExpr: last.expr, value, pos });
    return;
  }
  const idx = indexOf(attrs);
  const j = idx.get(last.name);
  if (j === undefined) {
    idx.set(last.name, attrs.attrs.length);
    attrs.attrs.push({ name: last.name, value, pos, inherited: false });
    return;
  }
  const existing = attrs.attrs[j]!;
  if (existing.value.kind === 'Attrs' && value.kind === 'Attrs') {
    // Two literals for the same key merge; 2.8 drops the second one's dynamic attrs.
    const target = existing.value as MutAttrs;
    const tIdx = indexOf(target);
    for (const ad of value.attrs) {
      const j2 = tIdx.get(ad.name);
      if (j2 !== undefined) {
        throw parseError(`attribute '${showId(ad.name)}' already defined at ${showPosParens(ad.pos)}`, target.attrs[j2]!.pos);
      }
      tIdx.set(ad.name, target.attrs.length);
      target.attrs.push(ad);
    }
    return;
  }
  throw dupAttr(path, pos, existing.pos);
}

function dupAttr(path: A.AttrName[], pos: A.Pos, prev: A.Pos): EvalError {
  return parseError(`attribute '${printAttrPath(path)}' already defined at ${showPosParens(prev)}`, pos);
}

export function checkDuplicateFormals(formals: A.Formal[]): void {
  const seen = new Map<string, number>();
  let best: { first: number; pos: A.Pos; name: string } | undefined;
  formals.forEach((f, k) => {
    const first = seen.get(f.name);
    if (first === undefined) {
      seen.set(f.name, k);
      return;
    }
    if (best === undefined || first < best.first) best = { first, pos: f.pos, name: f.name };
  });
  if (best) throw parseError(`duplicate formal function argument '${best.name}'`, best.pos);
}

/** Nix's `absPath` + `canonPath` (no symlink resolution). */
export function absPath(p: string, base: string): string {
  const full = p.startsWith('/') ? p : base + '/' + p;
  return canonPath(full);
}

export function canonPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/**
 * Attribute-set primops (Nix 2.8): attrNames, attrValues, getAttr, hasAttr,
 * listToAttrs (first occurrence wins), mapAttrs, removeAttrs, intersectAttrs
 * (values from the second set), catAttrs, zipAttrsWith, functionArgs,
 * unsafeGetAttrPos. Values stay lazy exactly where 2.8 keeps them lazy.
 */
import type { Pos } from '../ast.js';
import { missingAttr } from '../compile.js';
import { EvalError, EvalErrorCode } from '../errors.js';
import {
  Lambda, NixAttrs, PrimOp, PrimOpApp, force, forceAttrs, forceFunction, forceStr, wrongType,
  type Lazy,
} from '../value.js';
import { forceList } from '../list.js';
import type { BuiltinRegistry } from './registry.js';
import { app1, app2 } from './util.js';

export function register(r: BuiltinRegistry): void {
  r.add('attrNames', 1, (args, pos) => { const s = args[0]; return forceAttrs(s!, pos).keys().slice(); });
  r.add('attrValues', 1, (args, pos) => { const s = args[0];
    return forceAttrs(s!, pos).valueList();
  });
  r.add('getAttr', 2, (args, pos) => { const n = args[0], s = args[1];
    const name = forceStr(n!, pos);
    const a = forceAttrs(s!, pos);
    const v = a.get(name);
    if (v === undefined) throw missingAttr(name, a, pos!, 'getAttr');
    return force(v);
  });
  r.add('hasAttr', 2, (args, pos) => { const n = args[0], s = args[1];
    const name = forceStr(n!, pos);
    return forceAttrs(s!, pos).has(name);
  });
  r.add('listToAttrs', 1, (args, pos) => { const l = args[0]; return listToAttrs(forceList(l!, pos), pos); });
  r.add('mapAttrs', 2, (args, pos) => { const f = args[0], s = args[1];
    const a = forceAttrs(s!, pos);
    const names = a.names;
    const values: Lazy[] = new Array(names.length);
    // 2.8's mkApp: the application has no call site.
    for (let i = 0; i < names.length; i++) values[i] = app2(f!, names[i]!, a.valueAt(i), undefined);
    return new NixAttrs(names, values, null);
  });
  r.add('removeAttrs', 2, (args, pos) => { const s = args[0], l = args[1];
    const a = forceAttrs(s!, pos);
    const drop = new Set(forceList(l!, pos).map((x) => forceStr(x, pos)));
    const names: string[] = [], values: Lazy[] = [], positions: Array<Pos | undefined> | null = a.positions ? [] : null;
    for (let i = 0; i < a.names.length; i++) {
      if (drop.has(a.names[i]!)) continue;
      names.push(a.names[i]!);
      values.push(a.valueAt(i));
      positions?.push(a.positions![i]);
    }
    return new NixAttrs(names, values, positions);
  });
  r.add('intersectAttrs', 2, (args, pos) => { const x = args[0], y = args[1];
    const a = forceAttrs(x!, pos);
    const b = forceAttrs(y!, pos);
    const names: string[] = [], values: Lazy[] = [], positions: Array<Pos | undefined> | null = b.positions ? [] : null;
    for (let i = 0; i < b.names.length; i++) {
      if (!a.has(b.names[i]!)) continue;
      names.push(b.names[i]!);
      values.push(b.valueAt(i));
      positions?.push(b.positions![i]);
    }
    const out = new NixAttrs(names, values, positions);
    return out;
  });
  r.add('catAttrs', 2, (args, pos) => { const n = args[0], l = args[1];
    const name = forceStr(n!, pos);
    const out: Lazy[] = [];
    for (const e of forceList(l!, pos)) {
      const v = forceAttrs(e, pos).get(name);
      if (v !== undefined) out.push(v);
    }
    return out;
  });
  r.add('zipAttrsWith', 2, (args, pos) => { const f = args[0], l = args[1];
    forceFunction(f!, pos); // 2.8 checks the function first…
    const groups = new Map<string, Lazy[]>();
    for (const e of forceList(l!, pos)) {
      const a = forceAttrs(e, null); // …and the elements without a position
      for (const k of a.keys()) {
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(a.get(k)!);
      }
    }
    const m = new Map<string, Lazy>();
    for (const [k, vs] of groups) m.set(k, app2(f!, k, vs, undefined)); // mkApp: no call site
    return NixAttrs.fromMap(m);
  });
  r.add('functionArgs', 1, (args, pos) => { const f = args[0];
    const v = force(f!);
    if (v instanceof PrimOp || v instanceof PrimOpApp) return NixAttrs.empty;
    if (!(v instanceof Lambda)) throw new EvalError(EvalErrorCode.E_TYPE, "'functionArgs' requires a function", pos);
    const m = new Map<string, Lazy>();
    const ps = new Map<string, Pos>();
    for (const fm of v.info.formals ?? []) {
      m.set(fm.name, fm.hasDefault);
      ps.set(fm.name, fm.pos);
    }
    return NixAttrs.fromMap(m, ps);
  });
  r.add('unsafeGetAttrPos', 2, (args, pos, state) => { const n = args[0], s = args[1];
    const name = forceStr(n!, pos);
    const a = forceAttrs(s!, pos);
    const p = a.posOf(name);
    return p === undefined ? null : state.posToAttrs(p);
  });
  void EvalError; void EvalErrorCode; void app1;
}

/**
 * 2.8 `listToAttrs`: elements forced in order, the first occurrence of a
 * name wins and only it must have a `value`; each attribute keeps its
 * `value`'s position. Names are sorted through an index permutation (ties
 * by list position), much cheaper than a Map of 100k fresh strings.
 */
function listToAttrs(xs: Lazy[], pos: Pos | undefined): NixAttrs {
  const n = xs.length;
  const names: string[] = new Array(n);
  const sets: NixAttrs[] = new Array(n);
  // Names seen so far, kept only once an element lacks `value` (rare).
  let seen: Set<string> | null = null;
  for (let i = 0; i < n; i++) {
    const a = forceAttrs(xs[i]!, pos);
    const ni = a.indexOf('name');
    if (ni < 0) throw missingAttr('name', a, pos!, 'listToAttrs');
    const nv = force(a.valueAt(ni));
    // 2.8 checks the name at its attribute.
    const name = typeof nv === 'string' ? nv : forceStr(nv, a.positions?.[ni] ?? pos);
    if (seen === null && a.indexOf('value') < 0) seen = new Set(names.slice(0, i));
    if (seen !== null) {
      if (!seen.has(name) && a.indexOf('value') < 0) throw missingAttr('value', a, pos!, 'listToAttrs');
      seen.add(name);
    }
    names[i] = name;
    sets[i] = a;
  }
  const order: number[] = new Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => {
    const p = names[x]!, q = names[y]!;
    return p < q ? -1 : p > q ? 1 : x - y;
  });
  // Keep the first index of each name (exact-size arrays for the set).
  let u = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (u > 0 && names[order[u - 1]!] === names[i]) continue;
    order[u++] = i;
  }
  const outNames: string[] = new Array(u);
  const values: Lazy[] = new Array(u);
  let positions: Array<Pos | undefined> | null = null;
  for (let k = 0; k < u; k++) {
    const i = order[k]!;
    const a = sets[i]!;
    const vi = a.indexOf('value');
    outNames[k] = names[i]!;
    values[k] = a.valueAt(vi);
    const vp = a.positions?.[vi];
    if (vp !== undefined) (positions ??= new Array<Pos | undefined>(u))[k] = vp;
  }
  return new NixAttrs(outNames, values, positions);
}

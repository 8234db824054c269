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
  Lambda, NixAttrs, PrimOp, PrimOpApp, force, forceAttrs, forceList, forceStr, wrongType,
  type Lazy,
} from '../value.js';
import type { BuiltinRegistry } from './registry.js';
import { app1, app2 } from './util.js';

export function register(r: BuiltinRegistry): void {
  r.add('attrNames', 1, ([s], pos) => forceAttrs(s!, pos).keys().slice());
  r.add('attrValues', 1, ([s], pos) => {
    return forceAttrs(s!, pos).values.slice();
  });
  r.add('getAttr', 2, ([n, s], pos) => {
    const name = forceStr(n!, pos);
    const a = forceAttrs(s!, pos);
    const v = a.get(name);
    if (v === undefined) throw missingAttr(name, a, pos!, 'getAttr');
    return force(v);
  });
  r.add('hasAttr', 2, ([n, s], pos) => {
    const name = forceStr(n!, pos);
    return forceAttrs(s!, pos).has(name);
  });
  r.add('listToAttrs', 1, ([l], pos) => {
    // One Map (name → slot) and arrays in first-occurrence order; the names
    // are then sorted natively. 2.8 records each element's `value` position.
    const slot = new Map<string, number>();
    const vals: Lazy[] = [];
    const poss: Array<Pos | undefined> = [];
    let anyPos = false;
    for (const e of forceList(l!, pos)) {
      const a = forceAttrs(e, pos);
      const ni = a.indexOf('name');
      if (ni < 0) throw missingAttr('name', a, pos!, 'listToAttrs');
      const name = forceStr(a.values[ni]!, pos);
      if (slot.has(name)) continue;
      const vi = a.indexOf('value');
      if (vi < 0) throw missingAttr('value', a, pos!, 'listToAttrs');
      slot.set(name, vals.length);
      vals.push(a.values[vi]!);
      const vp = a.positions?.[vi];
      if (vp) anyPos = true;
      poss.push(vp);
    }
    const names = [...slot.keys()].sort();
    const values: Lazy[] = new Array(names.length);
    const positions: Array<Pos | undefined> | null = anyPos ? new Array(names.length) : null;
    for (let i = 0; i < names.length; i++) {
      const k = slot.get(names[i]!)!;
      values[i] = vals[k]!;
      if (positions) positions[i] = poss[k];
    }
    return new NixAttrs(names, values, positions);
  });
  r.add('mapAttrs', 2, ([f, s], pos) => {
    const a = forceAttrs(s!, pos);
    const names = a.names;
    const values: Lazy[] = new Array(names.length);
    for (let i = 0; i < names.length; i++) values[i] = app2(f!, names[i]!, a.values[i]!, pos);
    return new NixAttrs(names, values, null);
  });
  r.add('removeAttrs', 2, ([s, l], pos) => {
    const a = forceAttrs(s!, pos);
    const drop = new Set(forceList(l!, pos).map((x) => forceStr(x, pos)));
    const out = new NixAttrs([], [], a.positions ? [] : null);
    for (let i = 0; i < a.names.length; i++) {
      if (drop.has(a.names[i]!)) continue;
      out.names.push(a.names[i]!);
      out.values.push(a.values[i]!);
      out.positions?.push(a.positions![i]);
    }
    return out;
  });
  r.add('intersectAttrs', 2, ([x, y], pos) => {
    const a = forceAttrs(x!, pos);
    const b = forceAttrs(y!, pos);
    const out = new NixAttrs([], [], b.positions ? [] : null);
    for (let i = 0; i < b.names.length; i++) {
      if (!a.has(b.names[i]!)) continue;
      out.names.push(b.names[i]!);
      out.values.push(b.values[i]!);
      out.positions?.push(b.positions![i]);
    }
    return out;
  });
  r.add('catAttrs', 2, ([n, l], pos) => {
    const name = forceStr(n!, pos);
    const out: Lazy[] = [];
    for (const e of forceList(l!, pos)) {
      const v = forceAttrs(e, pos).get(name);
      if (v !== undefined) out.push(v);
    }
    return out;
  });
  r.add('zipAttrsWith', 2, ([f, l], pos) => {
    const groups = new Map<string, Lazy[]>();
    for (const e of forceList(l!, pos)) {
      const a = forceAttrs(e, pos);
      for (const k of a.keys()) {
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(a.get(k)!);
      }
    }
    const m = new Map<string, Lazy>();
    for (const [k, vs] of groups) m.set(k, app2(f!, k, vs, pos));
    return NixAttrs.fromMap(m);
  });
  r.add('functionArgs', 1, ([f], pos) => {
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
  r.add('unsafeGetAttrPos', 2, ([n, s], pos, state) => {
    const name = forceStr(n!, pos);
    const a = forceAttrs(s!, pos);
    const p = a.posOf(name);
    return p === undefined ? null : state.posToAttrs(p);
  });
  void EvalError; void EvalErrorCode; void app1;
}

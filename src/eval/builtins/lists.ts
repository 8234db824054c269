/**
 * List primops (Nix 2.8). All loops, no recursion (1M-element lists).
 * Laziness as in 2.8: `map`/`genList` elements are thunks, `foldl'` forces
 * each accumulator (not the initial one) and never the elements, `elem` /
 * `any` / `all` stop at the first hit, `sort` is stable (merge sort asking
 * the comparator once per comparison).
 */
import type { Pos } from '../ast.js';
import { call1, call2, callN, traceSettings } from '../call.js';
import { add } from '../arith.js';
import { eqLazy, lessThan } from '../compare.js';
import { EvalError, EvalErrorCode } from '../errors.js';
import { missingAttr } from '../compile.js';
import {
  Lambda, NixAttrs, PrimOp, Thunk, force, forceAttrs, forceBool, forceInt, forceStr, intToNumber, isFunction,
  wrongType, type Lazy, type Value,
} from '../value.js';
import { forceList, forceListCells, forceListElem, listElem, mkGenList, settleListElem } from '../list.js';
import type { BuiltinRegistry } from './registry.js';
import { app1 } from './util.js';

function outOfBounds(i: number | bigint, pos: Pos | undefined): EvalError {
  return new EvalError(EvalErrorCode.E_EVAL, `list index ${i} is out of bounds`, pos);
}

function forceFn(v: Lazy, pos: Pos | undefined): Value {
  const f = force(v);
  if (!isFunction(f) && !(f instanceof NixAttrs)) throw wrongType(f, 'a function', pos);
  return f;
}

/** Stable merge sort; `less(a, b)` is the Nix comparator. */
function mergeSort(xs: Lazy[], less: (a: Lazy, b: Lazy) => boolean): Lazy[] {
  const n = xs.length;
  let src = xs.slice();
  let dst: Lazy[] = new Array(n);
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = less(src[j]!, src[i]!) ? src[j++]! : src[i++]!;
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  return src;
}

/**
 * `sort lessThan` of only small ints or only context-free strings: equal
 * elements are indistinguishable, so V8's native sorts give the same list.
 */
function sortPrimitives(vals: Value[]): Value[] | null {
  const t = typeof vals[0];
  if (t !== 'number' && t !== 'string') return null;
  for (let i = 1; i < vals.length; i++) if (typeof vals[i] !== t) return null;
  if (t === 'string') return (vals as string[]).sort(); // UTF-16 units = bytes here
  // Ints in the int32 range (the usual case) sort about twice as fast in an
  // Int32Array as in a Float64Array (100k: ~6 vs ~12 ms); filled by index,
  // as TypedArray.from goes through the iterator protocol.
  const n = vals.length;
  const nums = vals as number[];
  const i32 = new Int32Array(n);
  let k = 0;
  for (; k < n; k++) {
    const x = nums[k]!;
    if ((x | 0) !== x) break;
    i32[k] = x;
  }
  const a = k === n ? i32 : new Float64Array(n);
  if (a !== i32) for (let i = 0; i < n; i++) a[i] = nums[i]!;
  a.sort();
  const out: Value[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]!;
  return out;
}

export function register(r: BuiltinRegistry): void {
  r.add('length', 1, (args, pos) => { const l = args[0]; return forceListCells(l!, pos).length; });
  r.add('head', 1, (args, pos) => { const l = args[0];
    const xs = forceListCells(l!, pos);
    if (xs.length === 0) throw outOfBounds(0, pos);
    return forceListElem(xs, 0);
  });
  r.add('tail', 1, (args, pos) => { const l = args[0];
    const xs = forceList(l!, pos);
    if (xs.length === 0) throw new EvalError(EvalErrorCode.E_EVAL, "'tail' called on an empty list", pos);
    return xs.slice(1);
  });
  r.add('elemAt', 2, (args, pos) => { const l = args[0], n = args[1];
    const xs = forceListCells(l!, pos);
    const i = forceInt(n!, pos);
    const k = intToNumber(i);
    if (k < 0 || k >= xs.length) throw outOfBounds(i, pos);
    return forceListElem(xs, k);
  });
  r.add('map', 2, (args, pos) => { const f = args[0], l = args[1]; return forceList(l!, pos).map((x) => app1(f!, x, pos)); });
  r.add('filter', 2, (args, pos) => { const f = args[0], l = args[1];
    const fn = forceFn(f!, pos);
    const xs = forceList(l!, pos);
    const out: Lazy[] = [];
    // A lambda predicate is entered directly (callLambda inlined, as in `call`).
    // 2.8 calls it without a position (no call-site frame, formals errors unplaced: null, not
    // undefined, which the primop's own position would fill in).
    const lam = fn instanceof Lambda && !traceSettings.showTrace ? fn : null;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const r = lam !== null ? lam.info.body(lam.info.enter(lam.env, x, null, lam)) : call1(fn, x, undefined);
      if (r === true || (r !== false && forceBool(r, pos))) out.push(x);
    }
    return out.length === xs.length ? xs : out;
  });
  r.add('concatLists', 1, (args, pos) => { const l = args[0];
    const out: Lazy[] = [];
    const xs = forceList(l!, pos);
    for (let i = 0; i < xs.length; i++) {
      const ys = forceList(xs[i]!, pos);
      for (let j = 0; j < ys.length; j++) out.push(ys[j]!);
    }
    return out;
  });
  r.add('concatMap', 2, (args, pos) => { const f = args[0], l = args[1];
    const fn = forceFn(f!, pos);
    const out: Lazy[] = [];
    for (const x of forceList(l!, pos)) for (const y of forceList(call1(fn, x, pos), pos)) out.push(y);
    return out;
  });
  r.add("foldl'", 3, (args, pos) => {
    const f = args[0], nul = args[1], l = args[2];
    const xs = forceListCells(l!, pos);
    if (xs.length === 0) return force(nul!);
    const fn = forceFn(f!, pos);
    let acc: Lazy = nul!;
    // Each element goes to the call unforced; a cell the call forced then
    // holds its value (settleListElem), so its thunk dies young.
    if (fn instanceof Lambda) {
      const info = fn.info, inner = info.inner;
      if (inner !== null && !traceSettings.showTrace) {
        // `a: b: …` entered directly (call2 inlined: this call site sees one lambda).
        for (let i = 0; i < xs.length; i++) {
          acc = inner.body(inner.enter(info.enter(fn.env, acc, pos, fn), listElem(xs, i), pos, fn));
          settleListElem(xs, i);
        }
      } else {
        for (let i = 0; i < xs.length; i++) { acc = call2(fn, acc, listElem(xs, i), pos); settleListElem(xs, i); }
      }
    } else if (fn instanceof PrimOp && fn.name === 'add') {
      // `foldl' add`: 2.8's prim_add on the forced operands, no argument array.
      for (let i = 0; i < xs.length; i++) acc = add(force(acc), forceListElem(xs, i), pos);
    } else if (fn instanceof PrimOp && fn.arity === 2) {
      // A fresh (young) array per call: reusing one long-lived array costs a
      // write barrier per store of the young accumulator (measured: +13%
      // instructions on foldl' add over 1M ints).
      for (let i = 0; i < xs.length; i++) { acc = fn.fn([acc, listElem(xs, i)], pos, fn.state); settleListElem(xs, i); }
    } else {
      for (let i = 0; i < xs.length; i++) { acc = callN(fn, [acc, listElem(xs, i)], pos); settleListElem(xs, i); }
    }
    return force(acc);
  });
  r.add('genList', 2, (args, pos) => { const f = args[0], n = args[1];
    const len = intToNumber(forceInt(n!, pos));
    if (len < 0) throw new EvalError(EvalErrorCode.E_EVAL, `cannot create list of size ${len}`, pos);
    if (len > 0xffffffff) throw new EvalError(EvalErrorCode.E_EVAL, 'out of memory', null);
    return mkGenList(len, (i) => app1(f!, i, pos));
  });
  r.add('elem', 2, (args, pos) => { const x = args[0], l = args[1];
    force(x!);
    const ys = forceList(l!, pos);
    for (let i = 0; i < ys.length; i++) if (eqLazy(x!, ys[i]!)) return true;
    return false;
  });
  r.add('any', 2, (args, pos) => { const f = args[0], l = args[1];
    const fn = forceFn(f!, pos);
    const xs = forceList(l!, pos);
    const lam = fn instanceof Lambda && !traceSettings.showTrace ? fn : null;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const r = lam !== null ? lam.info.body(lam.info.enter(lam.env, x, pos, lam)) : call1(fn, x, pos);
      if (r === true || (r !== false && forceBool(r, pos))) return true;
    }
    return false;
  });
  r.add('all', 2, (args, pos) => { const f = args[0], l = args[1];
    const fn = forceFn(f!, pos);
    const xs = forceList(l!, pos);
    const lam = fn instanceof Lambda && !traceSettings.showTrace ? fn : null;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const r = lam !== null ? lam.info.body(lam.info.enter(lam.env, x, pos, lam)) : call1(fn, x, pos);
      if (r === false || (r !== true && !forceBool(r, pos))) return false;
    }
    return true;
  });
  r.add('sort', 2, (args, pos) => { const f = args[0], l = args[1];
    const fn = forceFn(f!, pos);
    const xs = forceListCells(l!, pos);
    if (xs.length <= 1) return xs;
    // 2.8 forces every element first, and compares directly for `lessThan`.
    const vals: Value[] = new Array(xs.length);
    for (let i = 0; i < xs.length; i++) vals[i] = forceListElem(xs, i);
    if (fn instanceof PrimOp && fn.name === 'lessThan') {
      // 2.8's CompareValues errors carry no position.
      return sortPrimitives(vals) ?? mergeSort(vals, (a, b) => lessThan(a as Value, b as Value, null));
    }
    if (fn instanceof Lambda) {
      const less = (a: Lazy, b: Lazy) => forceBool(call2(fn, a, b, pos), pos);
      return mergeSort(vals, less);
    }
    return mergeSort(vals, (a, b) => forceBool(callN(fn, [a, b], pos), pos));
  });
  r.add('partition', 2, (args, pos) => { const f = args[0], l = args[1];
    const fn = forceFn(f!, pos);
    const right: Lazy[] = [], wrong: Lazy[] = [];
    for (const x of forceList(l!, pos)) (forceBool(call1(fn, x, pos), pos) ? right : wrong).push(x);
    return NixAttrs.fromEntries([['right', right], ['wrong', wrong]]);
  });
  r.add('groupBy', 2, (args, pos) => { const f = args[0], l = args[1];
    const fn = forceFn(f!, pos);
    const m = new Map<string, Lazy[]>();
    for (const x of forceList(l!, pos)) {
      const k = forceStr(call1(fn, x, pos), pos);
      let g = m.get(k);
      if (!g) m.set(k, (g = []));
      g.push(x);
    }
    return NixAttrs.fromMap(m);
  });
  r.add('genericClosure', 1, (args, pos) => { const a = args[0]; return genericClosure(forceAttrs(a!, pos), pos); });
}

function keyOf(v: Value): string | null {
  if (typeof v === 'number') return 'i' + v;
  if (typeof v === 'string') return 's' + v;
  return null;
}

/** 2.8 `genericClosure`: BFS over `startSet` with `operator`, deduplicated by `key`. */
function genericClosure(args: NixAttrs, pos: Pos | undefined): Lazy[] {
  const start = args.get('startSet');
  if (start === undefined) throw missingAttr('startSet', args, pos, 'genericClosure');
  const queue: Lazy[] = [...forceList(start, pos)];
  const op = args.get('operator');
  if (op === undefined) throw missingAttr('operator', args, pos, 'genericClosure');
  const fn = force(op);
  const fastSeen = new Set<string>();
  const slowSeen: Value[] = [];
  let firstKey: Value | undefined;
  const out: Lazy[] = [];
  for (let qi = 0; qi < queue.length; qi++) {
    const e = queue[qi]!;
    const ea = forceAttrs(e, pos);
    const kl = ea.get('key');
    if (kl === undefined) throw new EvalError(EvalErrorCode.E_MISSING_ATTR, "attribute 'key' required", pos);
    const key = force(kl);
    // 2.8 keeps keys in a std::set ordered by `<`: keys of another type
    // error, the new key on the left (std::set compares it to the tree's
    // keys), without a position (CompareValues).
    if (firstKey === undefined) firstKey = key;
    else if (keyOf(firstKey) !== null || keyOf(key) !== null) lessThan(key, firstKey, null);
    const fk = keyOf(key);
    if (fk !== null) {
      if (fastSeen.has(fk)) continue;
      fastSeen.add(fk);
    } else {
      // Keys are ordered with `<` in 2.8 (std::set with CompareValues).
      if (slowSeen.some((s) => !lessThan(key, s, null) && !lessThan(s, key, null))) continue;
      slowSeen.push(key);
    }
    out.push(e);
    // 2.8 applies the operator with mkApp: no call site.
    for (const n of forceList(call1(fn, e, undefined), pos)) queue.push(n);
  }
  return out;
}

/**
 * String coercion (Nix 2.8 `EvalState::coerceToString` / `coerceToPath`).
 *  - strings keep their context; paths are copied to the store (adding the
 *    store path to the context) when `copyToStore`;
 *  - sets coerce through `__toString` (called with the set) or `outPath`;
 *  - `coerceMore` (toString, interpolation of `toString`-like contexts) also
 *    takes ints, floats (`%f`), bools (`"1"`/`""`), null (`""`) and lists
 *    (space separated, empty sub-lists add no separator).
 */
import type { Pos } from './ast.js';
import { callN } from './call.js';
import { EvalError, EvalErrorCode } from './errors.js';
import type { EvalState } from './state.js';
import {
  NixAttrs, NixFloat, NixPath, NixString, force, showType, type Lazy, type Value,
} from './value.js';
import { forceListElem } from './list.js';

export interface CoerceOptions {
  coerceMore: boolean;
  copyToStore: boolean;
}

/** C `%f`: six decimals. */
export function floatToStringF(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? (Object.is(x, NaN) ? 'nan' : '-nan') : x > 0 ? 'inf' : '-inf';
  return x.toFixed(6).replace(/^-(0\.0+)$/, '-$1');
}

export function coerceToString(
  state: EvalState, v: Lazy, ctx: Set<string>, opts: CoerceOptions, pos?: Pos,
): string {
  const x = force(v);
  if (typeof x === 'string') return x;
  if (x instanceof NixString) {
    for (const c of x.context) ctx.add(c);
    return x.s;
  }
  if (x instanceof NixPath) {
    if (!opts.copyToStore) return x.path;
    const sp = state.copyPathToStore(x.path, pos);
    ctx.add(sp);
    return sp;
  }
  if (x instanceof NixAttrs) {
    const ts = x.get('__toString');
    if (ts !== undefined) {
      const r = callN(force(ts), [x], pos);
      return coerceToString(state, r, ctx, opts, pos);
    }
    const op = x.get('outPath');
    if (op !== undefined) return coerceToString(state, op, ctx, opts, pos);
  }
  if (opts.coerceMore) {
    if (x === true) return '1';
    if (x === false || x === null) return '';
    if (typeof x === 'number' || typeof x === 'bigint') return x.toString();
    if (x instanceof NixFloat) return floatToStringF(x.value);
    if (Array.isArray(x)) return coerceList(state, x, ctx, opts, pos);
  }
  throw new EvalError(EvalErrorCode.E_TYPE, `cannot coerce ${showType(x)} to a string`, pos);
}

function coerceList(state: EvalState, xs: Lazy[], ctx: Set<string>, opts: CoerceOptions, pos?: Pos): string {
  let out = '';
  for (let i = 0; i < xs.length; i++) {
    const e = forceListElem(xs, i);
    out += coerceToString(state, e, ctx, opts, pos);
    if (i < xs.length - 1 && !(Array.isArray(e) && e.length === 0)) out += ' ';
  }
  return out;
}

/** Coerce to a string value, context included. */
export function coerceToStringValue(
  state: EvalState, v: Lazy, opts: CoerceOptions, pos?: Pos,
): string | NixString {
  const ctx = new Set<string>();
  const s = coerceToString(state, v, ctx, opts, pos);
  return ctx.size > 0 ? new NixString(s, ctx) : s;
}

/** 2.8 `coerceToPath`: a string (or path) that must be absolute. */
export function coerceToPath(state: EvalState, v: Lazy, ctx: Set<string>, pos?: Pos): string {
  const s = coerceToString(state, v, ctx, { coerceMore: false, copyToStore: false }, pos);
  if (s === '' || s[0] !== '/') {
    throw new EvalError(EvalErrorCode.E_EVAL, `string '${s}' doesn't represent an absolute path`, pos);
  }
  return s;
}

export function toStringValue(x: Value): string {
  return typeof x === 'string' ? x : (x as NixString).s;
}

/**
 * Helpers shared by builtin families: lazy application thunks and
 * string/context plumbing.
 */
import type { Pos } from '../ast.js';
import { call1, call2, traceSettings } from '../call.js';
import { coerceToString } from '../coerce.js';
import type { EvalState } from '../state.js';
import {
  Lambda, NixAttrs, NixString, Thunk, force, mergeContexts, type Code, type ThunkCode, type Context, type Lazy, type Value,
} from '../value.js';

// Like 2.8's mkApp for map/genList elements: no call-site position.
const APPLY1: ThunkCode = (f, self) => {
  const fn = f instanceof Thunk ? (f.code === null ? f.value : f.force()) : f;
  if (fn instanceof Lambda && !traceSettings.showTrace) {
    // Inlined callLambda: map/genList elements are the hottest applications.
    const info = fn.info;
    return info.body(info.enter(fn.env, self.value, undefined, fn));
  }
  return call1(fn, self.value, undefined);
};
const APPLY2: Code = (env) => call2(force(env[0]), env[1], env[2], env[3]);

/** A thunk for `f x` (one allocation: the argument waits in `value`). */
export function app1(f: Lazy, x: Lazy, pos: Pos | undefined): Thunk {
  void pos;
  return new Thunk(APPLY1, f, x);
}

/** A thunk for `f x y`. */
export function app2(f: Lazy, x: Lazy, y: Lazy, pos: Pos | undefined): Thunk {
  return new Thunk(APPLY2, [f, x, y, pos]);
}

export function mkStr(s: string, ctx: Context | Set<string> | null | undefined): string | NixString {
  return ctx && ctx.size > 0 ? new NixString(s, ctx) : s;
}

/** Coerce with 2.8 defaults (`coerceMore = false`, `copyToStore = true`). */
export function coerceStr(state: EvalState, v: Lazy, ctx: Set<string>, pos: Pos | undefined): string {
  return coerceToString(state, v, ctx, { coerceMore: false, copyToStore: true }, pos);
}

export function attrsFrom(entries: Array<[string, Lazy]>): NixAttrs {
  return NixAttrs.fromEntries(entries);
}

export { mergeContexts };
export type { Value };

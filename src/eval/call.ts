/**
 * Function application (Nix 2.8 `EvalState::callFunction`): lambdas,
 * primops with partial application (`PrimOpApp`), and sets with
 * `__functor`. Adds the `while evaluating 'f'` / `from call site` trace
 * frames as errors unwind.
 */
import type { Pos } from './ast.js';
import { EvalError, EvalErrorCode } from './errors.js';
import {
  Lambda, NixAttrs, PrimOp, PrimOpApp, force, showType, type Lazy, type Value,
} from './value.js';

function addCallFrames(e: unknown, f: Lambda, pos: Pos | undefined): void {
  if (!(e instanceof EvalError)) return;
  const info = f.info;
  e.addFrame(info.name === null ? 'while evaluating anonymous lambda' : `while evaluating '${info.name}'`, info.pos);
  // 2.8 adds it even without a position (map/genList applications).
  e.addFrame('from call site', pos);
}

/** 2.8 adds the `while evaluating 'f'` / `from call site` frames only with
 *  `--show-trace` (they cost a catch per call otherwise). */
export const traceSettings = { showTrace: false };

export function callLambda(f: Lambda, arg: Lazy, pos: Pos | undefined): Value {
  const info = f.info;
  const env = info.enter(f.env, arg, pos, f);
  if (!traceSettings.showTrace) return info.body(env);
  try {
    return info.body(env);
  } catch (e) {
    if (e instanceof EvalError) addCallFrames(e, f, pos);
    throw e;
  }
}

export function callPrimOp(p: PrimOp, args: Lazy[], pos: Pos | undefined): Value {
  try {
    return p.fn(args, pos, p.state);
  } catch (e) {
    throw primOpError(e, pos);
  }
}

/** An error leaving a primop called at `pos`: it gets that position if it
 *  has none (`null` = deliberately none, as 2.8 throws it). */
export function primOpError(e: unknown, pos: Pos | undefined): unknown {
  if (e instanceof EvalError && e.pos === undefined) e.pos = pos;
  return e;
}

/** Apply `f` to one argument. */
export function call1(f: Value, arg: Lazy, pos: Pos | undefined): Value {
  if (f instanceof Lambda) return callLambda(f, arg, pos);
  if (f instanceof PrimOp && f.arity === 1) return callPrimOp(f, [arg], pos);
  return callN(f, [arg], pos);
}

/** Apply `f` to two arguments (`f a b`). */
export function call2(f: Value, a: Lazy, b: Lazy, pos: Pos | undefined): Value {
  if (f instanceof Lambda) {
    const info = f.info;
    const inner = info.inner;
    if (inner !== null && !traceSettings.showTrace) {
      // `a: b: body`: no closure for the intermediate `b: body` (its only
      // observable use would be the --show-trace frames, handled by callLambda).
      const env = info.enter(f.env, a, pos, f);
      return inner.body(inner.enter(env, b, pos, f));
    }
    const g = callLambda(f, a, pos);
    return g instanceof Lambda ? callLambda(g, b, pos) : callN(g, [b], pos);
  }
  if (f instanceof PrimOp && f.arity === 2) return callPrimOp(f, [a, b], pos);
  return callN(f, [a, b], pos);
}

/** Apply `f` to several arguments, left to right. */
export function callN(f: Value, args: Lazy[], pos: Pos | undefined): Value {
  let i = 0;
  const n = args.length;
  while (i < n) {
    if (f instanceof Lambda) {
      if (n - i >= 2 && f.info.inner !== null && !traceSettings.showTrace) {
        f = call2(f, args[i]!, args[i + 1]!, pos);
        i += 2;
        continue;
      }
      f = callLambda(f, args[i++]!, pos);
    } else if (f instanceof PrimOp) {
      const need = f.arity;
      if (n - i >= need) {
        f = callPrimOp(f, need === n && i === 0 ? args : args.slice(i, i + need), pos);
        i += need;
      } else {
        return new PrimOpApp(f, args.slice(i));
      }
    } else if (f instanceof PrimOpApp) {
      const p = f.primop;
      const have = f.args.length;
      const need = p.arity - have;
      if (n - i >= need) {
        f = callPrimOp(p, f.args.concat(args.slice(i, i + need)), pos);
        i += need;
      } else {
        return new PrimOpApp(p, f.args.concat(args.slice(i)));
      }
    } else if (f instanceof NixAttrs && f.has('__functor')) {
      const functor = force(f.get('__functor')!);
      f = callN(functor, [f, args[i++]!], pos);
    } else {
      // Without a call site (2.8's mkApp: map, mapAttrs, …) it has no position.
      throw new EvalError(EvalErrorCode.E_TYPE,
        `attempt to call something which is not a function but ${showType(f)}`, pos ?? null);
    }
  }
  return f;
}

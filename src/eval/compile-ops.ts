/**
 * Operators (Nix 2.8 `ExprOp*`, `ExprConcatStrings`). Arithmetic and `<`
 * go through the `__sub`/`__mul`/`__div`/`__lessThan` scope lookups 2.8's
 * parser desugars them into; when those names are not shadowed (the normal
 * case, decided at compile time) the primitive is inlined.
 */
import type * as A from './ast.js';
import { add, div, mul, sub } from './arith.js';
import { callN } from './call.js';
import { coerceToString } from './coerce.js';
import { eqValues, lessThan } from './compare.js';
import type { Compiler } from './compile.js';
import { EvalError, EvalErrorCode } from './errors.js';
import { canonPath } from './paths.js';
import { Scope, resolve } from './scope.js';
import {
  NixAttrs, NixFloat, NixPath, NixString, mkInt, showType, toBig, wrongType,
  type Code, type Env, type Lazy, type Value,
} from './value.js';
import { listElems } from './list.js';

/** Is `name` the builtin from the base scope (not shadowed)? */
export function isBase(scope: Scope, name: string): boolean {
  const r = resolve(scope, name);
  if (r.kind !== 'lexical') return false;
  let s: Scope | null = scope;
  for (let d = 0; d < r.depth; d++) s = s!.parent;
  return s!.parent === null;
}

function isNullVar(scope: Scope, e: A.Expr): boolean {
  return e.kind === 'Var' && e.name === 'null' && isBase(scope, 'null');
}

function varCall(c: Compiler, scope: Scope, name: string, args: A.Expr[], pos: A.Pos): Code {
  const fn = c.compile({ kind: 'Var', name, pos }, scope);
  const lz = args.map((a) => c.c(a, scope).lazy);
  return (env) => callN(fn(env), lz.map((l) => l(env)), pos);
}

function bool(v: Value, pos: A.Pos | null): boolean {
  if (typeof v === 'boolean') return v;
  throw wrongType(v, 'a Boolean', pos);
}

export function compileNot(c: Compiler, e: A.Not, scope: Scope): Code {
  const x = c.compile(e.expr, scope);
  // 2.8's ExprOpNot reports no position.
  return (env) => !bool(x(env), null);
}

export function compileNeg(c: Compiler, e: A.Neg, scope: Scope): Code {
  const zero: A.Expr = { kind: 'Int', value: 0n, pos: e.pos };
  if (!isBase(scope, '__sub')) return varCall(c, scope, '__sub', [zero, e.expr], e.pos);
  const x = c.compile(e.expr, scope);
  const pos = e.pos;
  return (env) => sub(0, x(env), pos);
}

export function compileBinOp(c: Compiler, e: A.BinOp, scope: Scope): Code {
  const pos = e.pos;
  const l = c.compile(e.lhs, scope);
  const r = c.compile(e.rhs, scope);
  switch (e.op) {
    case '==':
    case '!=': {
      // `x == null` (the builtin `null`, not shadowed): one identity test.
      const other = isNullVar(scope, e.rhs) ? l : isNullVar(scope, e.lhs) ? r : null;
      if (other !== null) return e.op === '==' ? (env) => other(env) === null : (env) => other(env) !== null;
      return e.op === '==' ? (env) => eqValues(l(env), r(env)) : (env) => !eqValues(l(env), r(env));
    }
    case '&&': return (env) => bool(l(env), pos) && bool(r(env), pos);
    case '||': return (env) => bool(l(env), pos) || bool(r(env), pos);
    case '->': return (env) => !bool(l(env), pos) || bool(r(env), pos);
    // `//`: 2.8 type-checks the left operand before evaluating the right one;
    // `++` evaluates both first.
    case '//': return (env) => {
      const a = l(env);
      if (!(a instanceof NixAttrs)) throw wrongType(a, 'a set', null); // 2.8: no position
      return update(a, r(env), null);
    };
    case '++': return (env) => {
      const a = l(env);
      return concatLists(a, r(env), pos);
    };
    case '+': return compilePlus(c, e, l, r);
    case '-': return arith(c, scope, e, '__sub', sub, l, r);
    case '*': return arith(c, scope, e, '__mul', mul, l, r);
    case '/': return arith(c, scope, e, '__div', div, l, r);
    case '<': return compare(c, scope, e, false, false, l, r);
    case '>': return compare(c, scope, e, true, false, l, r);
    case '<=': return compare(c, scope, e, true, true, l, r);
    case '>=': return compare(c, scope, e, false, true, l, r);
  }
}

function arith(
  c: Compiler, scope: Scope, e: A.BinOp, name: string,
  op: (a: Value, b: Value, pos?: A.Pos) => Value, l: Code, r: Code,
): Code {
  if (!isBase(scope, name)) return varCall(c, scope, name, [e.lhs, e.rhs], e.pos);
  const pos = e.pos;
  // (A closure per operator with the safe-int case inline measured slower
  // on fib25 in callgrind: +130M instructions, cause not found.)
  return (env) => op(l(env), r(env), pos);
}

/** `a < b` = `__lessThan a b`; `>` swaps; `<=`/`>=` negate the swapped form. */
/** 2.8's CompareValues errors carry no position. */
const NOPOS = null;

function compare(
  c: Compiler, scope: Scope, e: A.BinOp, swap: boolean, negate: boolean, l: Code, r: Code,
): Code {
  const pos = e.pos;
  if (!isBase(scope, '__lessThan')) {
    const call = varCall(c, scope, '__lessThan', swap ? [e.rhs, e.lhs] : [e.lhs, e.rhs], pos);
    return negate ? (env) => !bool(call(env), pos) : call;
  }
  // `a > b` is `__lessThan b a`: b is evaluated first. Ints compared inline.
  if (swap) {
    return negate
      ? (env) => { const b = r(env), a = l(env); return typeof a === 'number' && typeof b === 'number' ? !(b < a) : !lessThan(b, a, NOPOS); }
      : (env) => { const b = r(env), a = l(env); return typeof a === 'number' && typeof b === 'number' ? b < a : lessThan(b, a, NOPOS); };
  }
  return negate
    ? (env) => { const a = l(env), b = r(env); return typeof a === 'number' && typeof b === 'number' ? !(a < b) : !lessThan(a, b, NOPOS); }
    : (env) => { const a = l(env), b = r(env); return typeof a === 'number' && typeof b === 'number' ? a < b : lessThan(a, b, NOPOS); };
}

export function update(a: Value, b: Value, pos: A.Pos | null): NixAttrs {
  if (!(a instanceof NixAttrs)) throw wrongType(a, 'a set', pos);
  if (!(b instanceof NixAttrs)) throw wrongType(b, 'a set', pos);
  if (b.size === 0) return a;
  if (a.size === 0) return b;
  return mergeAttrs(a, b);
}

/** Merge two sorted sets, right side winning (linear, like 2.8's `//`). */
function mergeAttrs(a: NixAttrs, b: NixAttrs): NixAttrs {
  const an = a.names, bn = b.names;
  const ap = a.positions, bp = b.positions;
  const withPos = ap !== null || bp !== null;
  const names: string[] = [], values: Lazy[] = [];
  const pos: Array<A.Pos | undefined> | null = withPos ? [] : null;
  let i = 0, j = 0;
  while (i < an.length && j < bn.length) {
    const x = an[i]!, y = bn[j]!;
    if (x < y) {
      names.push(x); values.push(a.valueAt(i)); pos?.push(ap?.[i]); i++;
    } else {
      if (x === y) i++;
      names.push(y); values.push(b.valueAt(j)); pos?.push(bp?.[j]); j++;
    }
  }
  for (; i < an.length; i++) { names.push(an[i]!); values.push(a.valueAt(i)); pos?.push(ap?.[i]); }
  for (; j < bn.length; j++) { names.push(bn[j]!); values.push(b.valueAt(j)); pos?.push(bp?.[j]); }
  return new NixAttrs(names, values, pos);
}

export function concatLists(a: Value, b: Value, pos: A.Pos): Lazy[] {
  if (!Array.isArray(a)) throw wrongType(a, 'a list', pos);
  if (!Array.isArray(b)) throw wrongType(b, 'a list', pos);
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return listElems(a).concat(listElems(b));
}

function compilePlus(c: Compiler, e: A.BinOp, l: Code, r: Code): Code {
  const state = c.state;
  const parts = [{ code: l, pos: e.operandPos?.[0] ?? e.lhs.pos }, { code: r, pos: e.operandPos?.[1] ?? e.rhs.pos }];
  return (env) => {
    const a = l(env);
    if (typeof a === 'number') {
      const b = r(env);
      if (typeof b === 'number') return add(a, b);
      return concatStrings(state, env, parts, false, [a, b]);
    }
    // The right operand is evaluated only after the left one is processed (2.8 order).
    return concatStrings(state, env, parts, false, [a], 1);
  };
}

export function compileConcat(c: Compiler, e: A.Concat, scope: Scope): Code {
  const state = c.state;
  const parts = e.parts.map((p, i) => ({ code: c.compile(p, scope), pos: e.partPos?.[i] ?? p.pos }));
  if (!e.forceString) return (env) => concatStrings(state, env, parts, false, null);
  const n = parts.length;
  if (n === 2) {
    const p0 = parts[0]!.code, p1 = parts[1]!.code;
    const first = e.parts[0]!;
    if (first.kind === 'Str') {
      // "lit${e}": no call for the literal.
      const a = first.value;
      return (env) => {
        const b = p1(env);
        return typeof b === 'string' ? a + b : concatRest(state, env, parts, a, 1, b);
      };
    }
    return (env) => {
      const a = p0(env);
      if (typeof a !== 'string') return concatStrings(state, env, parts, true, [a], 1);
      const b = p1(env);
      return typeof b === 'string' ? a + b : concatRest(state, env, parts, a, 1, b);
    };
  }
  return (env) => {
    // Fast path: every part a context-free string (the common "a${b}c").
    let s = '';
    for (let i = 0; i < n; i++) {
      const v = parts[i]!.code(env);
      if (typeof v !== 'string') return concatRest(state, env, parts, s, i, v);
      s += v;
    }
    return s;
  };
}

/** A string interpolation after `prefix` (parts before `i`, all plain
 *  strings): coerce part `i` (already evaluated: `v`) and the rest. */
function concatRest(state: Compiler['state'], env: Env, parts: Part[], prefix: string, i: number, v: Value): Value {
  const ctx = new Set<string>();
  const opts = { coerceMore: false, copyToStore: true };
  let s = prefix + coerceToString(state, v, ctx, opts, parts[i]!.pos);
  for (let j = i + 1; j < parts.length; j++) s += coerceToString(state, parts[j]!.code(env), ctx, opts, parts[j]!.pos);
  return ctx.size > 0 ? new NixString(s, ctx) : s;
}

interface Part { code: Code; pos: A.Pos }

/** 2.8 `ExprConcatStrings::eval`: the first part's type decides. */
function concatStrings(
  state: Compiler['state'], env: Env, parts: Part[], forceString: boolean, vals: Value[] | null,
  known = vals ? vals.length : 0,
): Value {
  // Parts are evaluated in order, each just before it is coerced (error order as 2.8).
  const get = (i: number): Value => (i < known ? vals![i]! : parts[i]!.code(env));
  const v0 = get(0);
  const kind = forceString ? 'string' : numKind(v0) ?? (v0 instanceof NixPath ? 'path' : 'string');
  if (kind === 'int' || kind === 'float') return sumNumbers(get, parts, v0, kind);
  const ctx = new Set<string>();
  let s = '';
  for (let i = 0; i < parts.length; i++) {
    const v = i === 0 ? v0 : get(i);
    s += coerceToString(state, v, ctx, { coerceMore: false, copyToStore: kind === 'string' }, parts[i]!.pos);
  }
  if (kind === 'path') {
    if (ctx.size > 0) {
      throw new EvalError(EvalErrorCode.E_EVAL, 'a string that refers to a store path cannot be appended to a path', parts[0]!.pos);
    }
    return new NixPath(canonPath(s));
  }
  return ctx.size > 0 ? new NixString(s, ctx) : s;
}

function numKind(v: Value): 'int' | 'float' | null {
  if (typeof v === 'number' || typeof v === 'bigint') return 'int';
  if (v instanceof NixFloat) return 'float';
  return null;
}

function sumNumbers(get: (i: number) => Value, parts: Part[], v0: Value, kind0: 'int' | 'float'): Value {
  let kind = kind0;
  let n: bigint = kind === 'int' ? toBig(v0 as number | bigint) : 0n;
  let f = kind === 'float' ? (v0 as NixFloat).value : 0;
  for (let i = 1; i < parts.length; i++) {
    const v = get(i);
    if (typeof v === 'number' || typeof v === 'bigint') {
      if (kind === 'int') n = BigInt.asIntN(64, n + toBig(v));
      else f += Number(v);
    } else if (v instanceof NixFloat) {
      if (kind === 'int') { f = Number(n) + v.value; kind = 'float'; } else f += v.value;
    } else {
      throw new EvalError(EvalErrorCode.E_TYPE,
        `cannot add ${showType(v)} to ${kind === 'int' ? 'an integer' : 'a float'}`, parts[i]!.pos);
    }
  }
  return kind === 'int' ? mkInt(n) : new NixFloat(f);
}

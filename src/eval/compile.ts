/**
 * Compiles the AST into JS closures (`Code = (env) => Value`), resolving
 * variables to (depth, index) once, like Nix 2.8's `bindVars` followed by
 * `Expr::eval`, but without re-walking the tree per evaluation.
 *
 * Laziness: sub-expressions in lazy positions (attribute values, list
 * elements, arguments, let bindings) become `Thunk`s, except constants and
 * variables, which are passed as they are (Nix's `maybeThunk`).
 */
import type * as A from './ast.js';
import { call2, callLambda, callN, callPrimOp, primOpError, traceSettings } from './call.js';
import { CatchableError, EvalError, EvalErrorCode } from './errors.js';
import { Scope, resolve } from './scope.js';
import { setLiteralPos } from './attrset.js';
import type { EvalState } from './state.js';
import { compileBinOp, compileConcat, compileNeg, compileNot } from './compile-ops.js';
import { compileLambda } from './compile-lambda.js';
import { basePrimOp, compileHasAttr, compileSelect } from './compile-select.js';
import {
  Lambda, NixAttrs, NixFloat, NixPath, PrimOp, Thunk, canReplaceCell, force, forceAttrs, forceBool, mkInt,
  strOf, wrongType, type Code, type Env, type Lazy, type Value,
} from './value.js';

/** Produces the lazy form of an expression in an environment. */
export type LazyCode = (env: Env) => Lazy;

export interface Compiled {
  readonly code: Code;
  readonly lazy: LazyCode;
}

export class Compiler {
  constructor(readonly state: EvalState) {}

  compile(e: A.Expr, scope: Scope): Code {
    return this.c(e, scope).code;
  }

  /** Compile to both strict and lazy forms. */
  c(e: A.Expr, scope: Scope): Compiled {
    switch (e.kind) {
      case 'Int': return constant(mkInt(e.value));
      case 'Float': return constant(new NixFloat(e.value));
      case 'Str': return constant(e.value);
      case 'Path': return constant(new NixPath(e.value));
      case 'Var': return this.var(e, scope);
      default: {
        const code = this.strict(e, scope);
        return { code, lazy: (env) => new Thunk(code, env) };
      }
    }
  }

  private strict(e: A.Expr, scope: Scope): Code {
    switch (e.kind) {
      case 'SearchPath': return this.searchPath(e, scope);
      case 'Concat': return compileConcat(this, e, scope);
      case 'CurPos': return this.curPos(e);
      case 'Select': return compileSelect(this, e, scope);
      case 'HasAttr': return compileHasAttr(this, e, scope);
      case 'Attrs': return this.attrs(e, scope);
      case 'List': return this.list(e, scope);
      case 'Lambda': return compileLambda(this, e, scope, null);
      case 'Call': return this.call(e, scope);
      case 'Let': return this.let(e, scope);
      case 'With': return this.with(e, scope);
      case 'If': return this.if(e, scope);
      case 'Assert': return this.assert(e, scope);
      case 'Not': return compileNot(this, e, scope);
      case 'Neg': return compileNeg(this, e, scope);
      case 'BinOp': return compileBinOp(this, e, scope);
      default: return this.c(e, scope).code;
    }
  }

  private var(e: A.Var, scope: Scope): Compiled {
    const r = resolve(scope, e.name);
    const pos = e.pos;
    if (r.kind === 'undefined') {
      throw new EvalError(EvalErrorCode.E_UNDEFINED_VAR, `undefined variable '${e.name}'`, pos);
    }
    if (r.kind === 'with') return this.withVar(e.name, r.depths, pos);
    const { depth, index } = r;
    let slot: LazyCode;
    switch (depth) {
      case 0: slot = (env) => env[index]; break;
      case 1: slot = (env) => env[0][index]; break;
      case 2: slot = (env) => env[0][0][index]; break;
      case 3: slot = (env) => env[0][0][0][index]; break;
      default: slot = (env) => {
        for (let d = depth; d > 0; d--) env = env[0];
        return env[index];
      };
    }
    // A forced slot is overwritten with its value: later reads skip the
    // thunk, and the thunk can die young.
    let code: Code;
    switch (depth) {
      case 0: code = (env) => {
        const v = env[index];
        return v instanceof Thunk ? forceSlot(env, index, v, pos) : v;
      }; break;
      case 1: code = (env) => {
        const e = env[0];
        const v = e[index];
        return v instanceof Thunk ? forceSlot(e, index, v, pos) : v;
      }; break;
      default: code = (env) => {
        for (let d = depth; d > 0; d--) env = env[0];
        const v = env[index];
        return v instanceof Thunk ? forceSlot(env, index, v, pos) : v;
      };
    }
    // A slot of a rec/let frame under construction is still empty: delay
    // the lookup (Nix's ExprVar::maybeThunk does the same). The common
    // depths read the slot inline (a call is dear in the cold tiers).
    let lazy: LazyCode;
    switch (depth) {
      case 0: lazy = (env) => {
        const v = env[index];
        return v !== undefined ? v : new Thunk(code, env);
      }; break;
      case 1: lazy = (env) => {
        const v = env[0][index];
        return v !== undefined ? v : new Thunk(code, env);
      }; break;
      default: lazy = (env) => {
        const v = slot(env);
        return v !== undefined ? v : new Thunk(code, env);
      };
    }
    return { code, lazy };
  }

  private withVar(name: string, depths: number[], pos: A.Pos): Compiled {
    const lookup = (env: Env): Lazy => {
      let cur = env;
      let at = 0;
      for (const d of depths) {
        while (at < d) { cur = cur[0]; at++; }
        // 2.8's evalAttrs checks a `with` set without a position.
        const attrs = forceAttrs(cur[1], null);
        const v = attrs.get(name);
        if (v !== undefined) return v;
      }
      throw new EvalError(EvalErrorCode.E_UNDEFINED_VAR, `undefined variable '${name}'`, pos);
    };
    const code: Code = (env) => {
      const v = lookup(env);
      return v instanceof Thunk ? forceAt(v, pos) : v;
    };
    // Must stay lazy: the `with` set is forced only on use.
    return { code, lazy: (env) => new Thunk(code, env) };
  }

  private searchPath(e: A.SearchPath, scope: Scope): Code {
    const call: A.Call = {
      kind: 'Call', pos: e.pos,
      fn: { kind: 'Var', name: '__findFile', pos: e.pos },
      args: [{ kind: 'Var', name: '__nixPath', pos: e.pos }, { kind: 'Str', value: e.path, pos: e.pos }],
    };
    return this.call(call, scope);
  }

  private curPos(e: A.CurPos): Code {
    const v = this.state.posToAttrs(e.pos);
    return () => v;
  }

  /** Evaluates one attribute name to a string (null for `${null}` keys). */
  attrName(n: A.AttrName, scope: Scope): (env: Env) => string | null {
    if (n.kind === 'static') {
      const s = n.name;
      return () => s;
    }
    const code = this.compile(n.expr, scope);
    return (env) => {
      const v = code(env);
      if (v === null) return null;
      if (typeof v === 'string') return v;
      // 2.8's getName forces the name without a position.
      return this.state.forceStringNoCtx(v, null);
    };
  }

  private attrs(e: A.Attrs, scope: Scope): Code {
    if (e.rec) return this.recAttrs(e, scope);
    const sorted = sortedDefs(e);
    const lazies = sorted.map((d) => this.attrValue(d, scope));
    const names = sorted.map((d) => d.name);
    if (e.openPos) setLiteralPos(names, e.openPos);
    const positions = sorted.map((d) => d.pos);
    const dyn = this.dynamicAttrs(e, scope);
    const n = names.length;
    if (n === 2 && !dyn) {
      // The commonest small set, built without a values array (attrset.ts).
      const l0 = lazies[0]!, l1 = lazies[1]!;
      return (env) => NixAttrs.small(names, l0(env), l1(env), positions);
    }
    return (env) => {
      const values: Lazy[] = new Array(n);
      for (let i = 0; i < n; i++) values[i] = lazies[i]!(env);
      const a = new NixAttrs(names, values, positions);
      if (dyn) dyn(env, env, a);
      return a;
    };
  }

  private delayed(e: A.Expr, scope: Scope): LazyCode {
    const code = this.compile(e, scope);
    return (env) => new Thunk(code, env);
  }

  /** Compiles a binding's value, naming lambdas after their attribute. */
  attrValue(d: A.AttrDef, scope: Scope): LazyCode {
    if (d.value.kind === 'Lambda') {
      // Still a thunk, as in 2.8 (non-strict printing shows <CODE>).
      const code = compileLambda(this, d.value, scope, d.name);
      return (env) => new Thunk(code, env);
    }
    return this.c(d.value, scope).lazy;
  }

  private dynamicAttrs(e: A.Attrs, scope: Scope): ((nameEnv: Env, valEnv: Env, a: NixAttrs) => void) | null {
    if (e.dynamicAttrs.length === 0) return null;
    const dyn = e.dynamicAttrs.map((d) => ({
      name: this.attrName({ kind: 'dynamic', expr: d.nameExpr }, scope),
      value: this.c(d.value, scope).lazy,
      pos: d.pos,
    }));
    return (nameEnv, valEnv, a) => {
      for (const d of dyn) {
        const name = d.name(nameEnv);
        if (name === null) continue;
        if (a.has(name)) {
          const prev = a.posOf(name);
          throw new EvalError(EvalErrorCode.E_EVAL,
            `dynamic attribute '${name}' already defined at ${prev ? this.state.showPos(prev) : '(unknown)'}`, d.pos);
        }
        a.set(name, d.value(valEnv), d.pos);
      }
    };
  }

  /** Slots follow the sorted attribute order, so a rec set's values are its env slots. */
  private recScope(e: A.Attrs, scope: Scope): Scope {
    const vars = new Map<string, number>();
    sortedDefs(e).forEach((d, i) => vars.set(d.name, i + 1));
    return new Scope(scope, vars);
  }

  private recAttrs(e: A.Attrs, scope: Scope): Code {
    const inner = this.recScope(e, scope);
    const sorted = sortedDefs(e);
    const names = sorted.map((d) => d.name);
    if (e.openPos) setLiteralPos(names, e.openPos);
    const hasOverrides = names.includes('__overrides');
    // With __overrides the env slots change after construction: every value
    // must look its variables up when forced.
    const defs = sorted.map((d) => ({
      inherited: d.inherited,
      lazy: hasOverrides ? this.delayed(d.value, d.inherited ? scope : inner) : this.attrValue(d, d.inherited ? scope : inner),
    }));
    const positions = sorted.map((d) => d.pos);
    const dyn = this.dynamicAttrs(e, inner);
    const n = defs.length;
    return (env) => {
      const env2: Env = new Array(n + 1);
      env2[0] = env;
      const values: Lazy[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const d = defs[i]!;
        values[i] = env2[i + 1] = d.lazy(d.inherited ? env : env2);
      }
      const a = new NixAttrs(names, values, positions);
      if (dyn) dyn(env2, env2, a);
      return hasOverrides ? this.state.applyOverrides(a, env2, names) : a;
    };
  }

  private let(e: A.Let, scope: Scope): Code {
    const inner = this.recScope(e.attrs, scope);
    const defs = sortedDefs(e.attrs).map((d) => ({
      inherited: d.inherited, lazy: this.attrValue(d, d.inherited ? scope : inner),
    }));
    const body = this.compile(e.body, inner);
    const n = defs.length;
    return (env) => {
      const env2: Env = new Array(n + 1);
      env2[0] = env;
      for (let i = 0; i < n; i++) {
        const d = defs[i]!;
        env2[i + 1] = d.lazy(d.inherited ? env : env2);
      }
      return body(env2);
    };
  }

  private with(e: A.With, scope: Scope): Code {
    const attrs = this.c(e.attrs, scope).lazy;
    const body = this.compile(e.body, Scope.withScope(scope));
    return (env) => body([env, attrs(env)]);
  }

  private list(e: A.List, scope: Scope): Code {
    const elems = e.elems.map((x) => this.c(x, scope).lazy);
    const n = elems.length;
    if (n === 0) return () => [];
    return (env) => {
      const out: Lazy[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = elems[i]!(env);
      return out;
    };
  }

  private call(e: A.Call, scope: Scope): Code {
    const prim = basePrimOp(this.state, e.fn, scope);
    // The function is compiled before its arguments, as 2.8 binds them (the
    // first undefined variable reported is the function's).
    const fnCode = prim !== null && prim.arity === e.args.length && e.args.length <= 2 ? null : this.compile(e.fn, scope);
    const args = e.args.map((a) => this.c(a, scope).lazy);
    const pos = e.pos;
    if (prim !== null && prim.arity === args.length) {
      // A builtin applied to all its arguments: no lookup, no dispatch on the function.
      // callPrimOp inlined (one JS call less; a call is dear in the cold tiers).
      const fn = prim.fn, st = prim.state;
      if (args.length === 1) {
        const a0 = args[0]!;
        return (env) => {
          try {
            return fn([a0(env)], pos, st);
          } catch (e) {
            throw primOpError(e, pos);
          }
        };
      }
      if (args.length === 2) {
        const a0 = args[0]!, a1 = args[1]!;
        return (env) => {
          try {
            return fn([a0(env), a1(env)], pos, st);
          } catch (e) {
            throw primOpError(e, pos);
          }
        };
      }
    }
    const fn = fnCode ?? this.compile(e.fn, scope);
    if (args.length === 1) {
      const a0 = args[0]!;
      return (env) => {
        const f = fn(env);
        if (f instanceof Lambda) {
          // Inlined callLambda (one JS frame less per Nix call = deeper recursion).
          if (traceSettings.showTrace) return callLambda(f, a0(env), pos);
          const info = f.info;
          return info.body(info.enter(f.env, a0(env), pos, f));
        }
        if (f instanceof PrimOp && f.arity === 1) return callPrimOp(f, [a0(env)], pos);
        return callN(f, [a0(env)], pos);
      };
    }
    if (args.length === 2) {
      const a0 = args[0]!, a1 = args[1]!;
      return (env) => {
        const f = fn(env);
        return call2(f, a0(env), a1(env), pos);
      };
    }
    return (env) => {
      const f = fn(env);
      const xs: Lazy[] = new Array(args.length);
      for (let i = 0; i < args.length; i++) xs[i] = args[i]!(env);
      return callN(f, xs, pos);
    };
  }

  private if(e: A.If, scope: Scope): Code {
    const cond = this.compile(e.cond, scope);
    const t = this.compile(e.then, scope);
    const f = this.compile(e.else, scope);
    const pos = e.pos;
    return (env) => {
      const c = cond(env);
      if (c === true) return t(env);
      if (c === false) return f(env);
      throw wrongType(c, 'a Boolean', pos);
    };
  }

  private assert(e: A.Assert, scope: Scope): Code {
    const cond = this.compile(e.cond, scope);
    const body = this.compile(e.body, scope);
    const pos = e.pos;
    const state = this.state;
    return (env) => {
      if (!forceBool(cond(env), pos)) {
        throw new CatchableError(EvalErrorCode.E_ASSERTION,
          `assertion '${state.showExpr(e.cond)}' failed`, pos);
      }
      return body(env);
    };
  }
}

function sortedDefs(e: A.Attrs): A.AttrDef[] {
  return [...e.attrs].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

function constant(v: Value): Compiled {
  return { code: () => v, lazy: () => v };
}

/** Force the thunk in `env[index]` and store its value there. */
function forceSlot(env: Env, index: number, t: Thunk, pos: A.Pos): Value {
  const r = t.code === null ? t.value : t.force(pos);
  if (canReplaceCell(r)) env[index] = r;
  return r;
}

/** Force a thunk, reporting infinite recursion at the forcing site. */
export function forceAt(t: Thunk, pos: A.Pos): Value {
  return t.code === null ? t.value : t.force(pos);
}

export { missingAttr } from './compile-select.js';
export { strOf };

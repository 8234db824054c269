/**
 * Attribute selection and `?` (Nix 2.8's ExprSelect / ExprOpHasAttr), and the
 * lookups of `builtins.x` and base primops that are fixed at compile time
 * when `builtins` and the name are not shadowed.
 */
import type * as A from './ast.js';
import type { Compiler } from './compile.js';
import { isBase } from './compile-ops.js';
import { EvalError, EvalErrorCode, infiniteRecursion } from './errors.js';
import { type Scope, resolve } from './scope.js';
import type { EvalState } from './state.js';
import { didYouMean } from './suggest.js';
import { attrsPos } from './attrset.js';
import { NixAttrs, PrimOp, Thunk, canReplaceCell, force, wrongType, type Code, type Lazy, type Value } from './value.js';

export function compileSelect(c: Compiler, e: A.Select, scope: Scope): Code {
  const base = c.compile(e.expr, scope);
  const names = e.path.map((n) => c.attrName(n, scope));
  const def = e.default ? c.compile(e.default, scope) : null;
  const pos = e.pos;
  if (names.length === 1 && e.path[0]!.kind === 'static' && def === null) {
    const name = e.path[0]!.name;
    const fixed = builtinSelect(c.state, e, scope, name);
    if (fixed !== null) return fixed;
    return (env) => {
      const v = base(env);
      if (!(v instanceof NixAttrs)) throw wrongType(v, 'a set', pos);
      const i = v.indexOf(name);
      if (i < 0) throw missingAttr(name, v, pos);
      const a = v.valueAt(i);
      if (!(a instanceof Thunk)) return a;
      const r = a.code === null ? a.value : forceSelected(a, v.positions?.[i], pos, name);
      // Drop the forced thunk from the set (less for the GC to keep and copy).
      if (canReplaceCell(r)) v.setValueAt(i, r);
      return r;
    };
  }
  return (env) => {
    let v = base(env);
    let pos2: A.Pos | undefined;
    const shown: string[] = [];
    try {
      for (const nameOf of names) {
        const name = nameOf(env);
        shown.push(name ?? 'null');
        if (!(v instanceof NixAttrs)) {
          if (def) return def(env);
          throw wrongType(v, 'a set', pos);
        }
        const i = name === null ? -1 : v.indexOf(name);
        if (i < 0) {
          if (def) return def(env);
          throw missingAttr(name ?? 'null', v, pos);
        }
        const a = v.valueAt(i);
        pos2 = v.positions?.[i];
        if (a instanceof Thunk) {
          if (a.blackholed) throw infiniteRecursion(pos2 ?? pos);
          v = a.force();
        } else v = a;
      }
    } catch (err) {
      if (pos2 && err instanceof EvalError && pos2.file.path !== '//builtin/derivation.nix') {
        err.addFrame(`while evaluating the attribute '${shown.join('.')}'`, pos2);
      }
      throw err;
    }
    return v;
  };
}

/**
 * `builtins.name` with the base `builtins` (not shadowed): the set never
 * changes after start-up, so the slot is found once, here, instead of a
 * variable lookup and a name search per evaluation. Null when not found
 * (the general code then reports the missing attribute).
 */
function builtinSelect(state: EvalState, e: A.Select, scope: Scope, name: string): Code | null {
  if (e.expr.kind !== 'Var' || e.expr.name !== 'builtins' || !isBase(scope, 'builtins')) return null;
  const b = state.builtins;
  const i = b.indexOf(name);
  if (i < 0) return null;
  const pos = e.pos;
  return () => {
    const a = b.valueAt(i);
    if (!(a instanceof Thunk)) return a;
    const r = a.code === null ? a.value : forceSelected(a, b.positions?.[i], pos, name);
    if (canReplaceCell(r)) b.setValueAt(i, r);
    return r;
  };
}

/** The primop `e` names when that is fixed at compile time: a base
 *  variable (`toString`, `__foo`) or `builtins.foo`, not shadowed. */
export function basePrimOp(state: EvalState, e: A.Expr, scope: Scope): PrimOp | null {
  let v: Lazy | undefined;
  if (e.kind === 'Var') {
    const r = resolve(scope, e.name);
    if (r.kind !== 'lexical' || !isBase(scope, e.name)) return null;
    v = state.baseEnv[r.index];
  } else if (e.kind === 'Select' && e.default === undefined && e.path.length === 1 && e.path[0]!.kind === 'static'
    && e.expr.kind === 'Var' && e.expr.name === 'builtins' && isBase(scope, 'builtins')) {
    v = state.builtins.get(e.path[0]!.name);
  }
  return v instanceof PrimOp ? v : null;
}

export function compileHasAttr(c: Compiler, e: A.HasAttr, scope: Scope): Code {
  const base = c.compile(e.expr, scope);
  const names = e.path.map((n) => c.attrName(n, scope));
  const last = names.length - 1;
  return (env) => {
    let v = base(env);
    for (let i = 0; ; i++) {
      if (!(v instanceof NixAttrs)) return false;
      const name = names[i]!(env);
      const a = name === null ? undefined : v.get(name);
      if (a === undefined) return false;
      if (i === last) return true; // the final attribute is not forced
      v = force(a);
    }
  };
}

/** Force a selected attribute: 2.8 reports blackholes at the attribute's
 *  definition and adds `while evaluating the attribute` to any error. */
function forceSelected(a: Thunk, pos2: A.Pos | undefined, pos: A.Pos, name: string): Value {
  try {
    if (a.blackholed) throw infiniteRecursion(pos2 ?? pos);
    return a.force();
  } catch (err) {
    if (pos2 && err instanceof EvalError && pos2.file.path !== '//builtin/derivation.nix') {
      err.addFrame(`while evaluating the attribute '${name}'`, pos2);
    }
    throw err;
  }
}

export function missingAttr(name: string, attrs: NixAttrs, pos: A.Pos | undefined, primop?: string): EvalError {
  if (primop !== undefined) return primOpMissingAttr(name, attrs, pos, primop);
  const e = new EvalError(EvalErrorCode.E_MISSING_ATTR, `attribute '${name}' missing`, pos);
  const s = didYouMean(name, attrs.keys());
  if (s) e.suggestion = s;
  return e;
}

/** 2.8's `getAttr` helper of primops: no suggestion; placed at the set when
 *  it is a literal (then with a `while invoking` frame), else at the call. */
function primOpMissingAttr(name: string, attrs: NixAttrs, pos: A.Pos | undefined, primop: string): EvalError {
  const msg = `attribute '${name}' missing for call to '${primop}'`;
  const at = attrsPos(attrs);
  if (at === undefined) return new EvalError(EvalErrorCode.E_MISSING_ATTR, msg, pos);
  return new EvalError(EvalErrorCode.E_MISSING_ATTR, msg, at).addFrame(`while invoking '${primop}'`, pos);
}

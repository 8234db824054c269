/**
 * Equality (`==`, `elem`) and ordering (`<`, `lessThan`, `sort`) with Nix 2.8
 * semantics:
 *  - numbers compare numerically across int/float; strings by bytes ignoring
 *    context; paths by text; a path never equals a string;
 *  - derivations (`type = "derivation"`) compare by `outPath`;
 *  - functions are never equal, BUT inside lists/sets an element that is the
 *    very same object on both sides is equal (2.8's pointer-equality
 *    shortcut, which nixpkgs relies on for platform sets).
 */
import type { Pos } from './ast.js';
import { isNumber, numEq, numLess } from './arith.js';
import { EvalError, EvalErrorCode } from './errors.js';
import {
  NixAttrs, NixPath, NixString, Thunk, force, showType, strOf, type Lazy, type Value,
} from './value.js';
import { listElem } from './list.js';

function isDerivation(a: NixAttrs): boolean {
  const t = a.get('type');
  if (t === undefined) return false;
  const v = force(t);
  return (typeof v === 'string' || v instanceof NixString) && strOf(v) === 'derivation';
}

/** Equality of two value cells: the same cell is equal to itself (2.8's
 *  pointer shortcut, after forcing). */
export function eqLazy(a: Lazy, b: Lazy): boolean {
  if (a === b) {
    // Force anyway: 2.8 forces before the pointer check, so errors surface.
    if (a instanceof Thunk) a.force();
    return true;
  }
  const x = force(a);
  const y = force(b);
  if (x === y && typeof x === 'object') return true;
  return eqValues(x, y);
}

export function eqValues(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (isNumber(a)) return isNumber(b) && numEq(a, b);
  if (typeof a === 'string' || a instanceof NixString) {
    return (typeof b === 'string' || b instanceof NixString) && strOf(a) === strOf(b);
  }
  if (a === null || typeof a === 'boolean') return a === b;
  if (a instanceof NixPath) return b instanceof NixPath && a.path === b.path;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!eqLazy(listElem(a, i), listElem(b, i))) return false;
    return true;
  }
  if (a instanceof NixAttrs) {
    if (!(b instanceof NixAttrs)) return false;
    if (isDerivation(a) && isDerivation(b)) {
      const oa = a.get('outPath'), ob = b.get('outPath');
      if (oa !== undefined && ob !== undefined) return eqLazy(oa, ob);
    }
    if (a.size !== b.size) return false;
    // Same size and both sorted: names must match pairwise.
    for (let i = 0; i < a.names.length; i++) {
      if (a.names[i] !== b.names[i] || !eqLazy(a.valueAt(i), b.valueAt(i))) return false;
    }
    return true;
  }
  return false; // functions
}

/** 2.8 `CompareValues`: the `<` operator. */
export function lessThan(a: Value, b: Value, pos?: Pos | null): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  if (isNumber(a) && isNumber(b)) return numLess(a, b);
  if ((typeof a === 'string' || a instanceof NixString) && (typeof b === 'string' || b instanceof NixString)) {
    return strOf(a) < strOf(b);
  }
  if (a instanceof NixPath && b instanceof NixPath) return a.path < b.path;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; ; i++) {
      if (i === b.length) return false;
      if (i === a.length) return true;
      if (!eqLazy(listElem(a, i), listElem(b, i))) return lessThan(force(a[i]!), force(b[i]!), pos);
    }
  }
  throw cannotCompare(a, b, pos);
}

function cannotCompare(a: Value, b: Value, pos?: Pos | null): EvalError {
  return new EvalError(EvalErrorCode.E_TYPE, `cannot compare ${showType(a)} with ${showType(b)}`, pos);
}

/**
 * Integer and float arithmetic with Nix 2.8 semantics: i64 that silently
 * wraps on `+ - *`, truncating division, `division by zero`, mixed int/float
 * promotes to float. Fast path: JS numbers inside the safe-integer range.
 */
import type { Pos } from './ast.js';
import { EvalError, EvalErrorCode } from './errors.js';
import { NixFloat, mkInt, showType, toBig, type Value } from './value.js';

const MAX = Number.MAX_SAFE_INTEGER;
const MIN = Number.MIN_SAFE_INTEGER;

function num(v: Value, what: string, pos: Pos | undefined): number | bigint | NixFloat {
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof NixFloat) return v;
  throw new EvalError(EvalErrorCode.E_TYPE, `value is ${showType(v)} while ${what} was expected`, pos);
}

/** 2.8 prim_add/sub/mul: floats if either is a float (then a non-number is
 *  "not a float"), else both must be integers. */
function operands(a: Value, b: Value, pos: Pos | undefined): [number | bigint | NixFloat, number | bigint | NixFloat] {
  const expected = a instanceof NixFloat || b instanceof NixFloat ? 'a float' : 'an integer';
  return [num(a, expected, pos), num(b, expected, pos)];
}

function fl(v: number | bigint | NixFloat): number {
  return v instanceof NixFloat ? v.value : Number(v);
}

export function add(a: Value, b: Value, pos?: Pos): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (r <= MAX && r >= MIN) return r;
    return mkInt(BigInt(a) + BigInt(b));
  }
  const [x, y] = operands(a, b, pos);
  if (x instanceof NixFloat || y instanceof NixFloat) return new NixFloat(fl(x) + fl(y));
  return mkInt(toBig(x) + toBig(y));
}

export function sub(a: Value, b: Value, pos?: Pos): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (r <= MAX && r >= MIN) return r;
    return mkInt(BigInt(a) - BigInt(b));
  }
  const [x, y] = operands(a, b, pos);
  if (x instanceof NixFloat || y instanceof NixFloat) return new NixFloat(fl(x) - fl(y));
  return mkInt(toBig(x) - toBig(y));
}

export function mul(a: Value, b: Value, pos?: Pos): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (r <= MAX && r >= MIN) return r === 0 ? 0 : r;
    return mkInt(BigInt(a) * BigInt(b));
  }
  const [x, y] = operands(a, b, pos);
  if (x instanceof NixFloat || y instanceof NixFloat) return new NixFloat(fl(x) * fl(y));
  return mkInt(toBig(x) * toBig(y));
}

export function div(a: Value, b: Value, pos?: Pos): Value {
  if (typeof a === 'number' && typeof b === 'number' && b !== 0) return Math.trunc(a / b) + 0;
  // 2.8 prim_div: the divisor is forced as a float first (zero check).
  const y = num(b, 'a float', pos);
  if (fl(y) === 0) throw new EvalError(EvalErrorCode.E_DIVISION_BY_ZERO, 'division by zero', pos);
  const [x] = operands(a, y, pos);
  if (fl(y) === 0) throw new EvalError(EvalErrorCode.E_DIVISION_BY_ZERO, 'division by zero', pos);
  if (x instanceof NixFloat || y instanceof NixFloat) return new NixFloat(fl(x) / fl(y));
  // Both safe: float division then trunc is exact (see design notes).
  if (typeof x === 'number' && typeof y === 'number') return Math.trunc(x / y) + 0;
  const bx = toBig(x), by = toBig(y);
  if (bx === -(1n << 63n) && by === -1n) {
    throw new EvalError(EvalErrorCode.E_EVAL, `overflow in integer division`, pos);
  }
  return mkInt(bx / by);
}

/** `a < b` for numbers (2.8 `ExprOpLessThan` numeric part). */
export function numLess(a: number | bigint | NixFloat, b: number | bigint | NixFloat): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  if (a instanceof NixFloat || b instanceof NixFloat) return fl(a) < fl(b);
  return toBig(a) < toBig(b);
}

export function isNumber(v: Value): v is number | bigint | NixFloat {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof NixFloat;
}

export function numEq(a: number | bigint | NixFloat, b: number | bigint | NixFloat): boolean {
  if (a instanceof NixFloat || b instanceof NixFloat) return fl(a) === fl(b);
  if (typeof a === typeof b) return a === b;
  return false; // canonical ints: a number never equals a bigint
}

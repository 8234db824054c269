/**
 * Nix values (Nix 2.8 `Value`): representation chosen for speed in V8.
 *
 * | Nix type | JS representation |
 * |---|---|
 * | int    | `number` (a safe integer) or `bigint` (only outside ±2^53; always within i64) |
 * | float  | `NixFloat` (boxed so `1.0` stays distinct from `1`) |
 * | bool   | `boolean` |
 * | null   | `null` |
 * | string | `string` (byte string, no context) or `NixString` (byte string + context) |
 * | path   | `NixPath` |
 * | set    | `NixAttrs` |
 * | list   | JS `Array` of `Lazy` |
 * | lambda | `Lambda` |
 * | primop | `PrimOp`, `PrimOpApp` (partial application) |
 *
 * Invariants: a bigint int is never within the safe-integer range (use
 * `mkInt`); byte strings hold char codes 0..255 only; a `NixString` always
 * has a non-empty context. Containers hold `Lazy` (a value or a `Thunk`).
 */
import type { Pos } from './ast.js';
import { NixAttrs } from './attrset.js';
import { EvalError, EvalErrorCode, infiniteRecursion } from './errors.js';

export class NixFloat {
  constructor(readonly value: number) {}
}

/**
 * String context elements use Nix 2.8's encoding:
 * `/nix/store/…` plain path, `=/nix/store/….drv` all outputs (drvPath),
 * `!out!/nix/store/….drv` one output.
 */
export type Context = ReadonlySet<string>;

export class NixString {
  constructor(readonly s: string, readonly context: Context) {}
}

export class NixPath {
  constructor(readonly path: string) {}
}

export type Value =
  | number | bigint | NixFloat | boolean | null
  | string | NixString | NixPath
  | NixAttrs | Value[] | Lazy[]
  | Lambda | PrimOp | PrimOpApp;

/** Compiled code: evaluates an expression in an environment to WHNF. */
export type Code = (env: Env) => Value;

/** What a thunk runs: compiled code, or a builtin helper that also gets the thunk. */
export type ThunkCode = (env: any, self: Thunk) => Value;

/** Environment frame: slot 0 is the parent frame, slots 1.. the variables.
 *  A `with` frame has the (lazy) attribute set in slot 1. */
export type Env = any[];

const BLACKHOLE: ThunkCode = () => {
  throw new Error('Assertion failed: blackhole executed');
};

/** A suspended computation (call-by-need), blackholed while forced. */
export class Thunk {
  code: ThunkCode | null;
  /** The environment, or (application thunks) the function. */
  env: any;
  /** The result; before evaluation, application thunks keep their argument here. */
  value: any;

  constructor(code: ThunkCode, env: any, value: any = null) {
    this.code = code;
    this.env = env;
    this.value = value;
  }

  /** `pos`: the forcing site, reported on infinite recursion. */
  force(pos?: Pos): Value {
    const c = this.code;
    if (c === null) return this.value;
    if (c === BLACKHOLE) throw infiniteRecursion(pos);
    this.code = BLACKHOLE;
    try {
      const v = c(this.env, this);
      this.value = v;
      this.code = null;
      this.env = null;
      return v;
    } catch (e) {
      // Unwind to unevaluated so tryEval can force it again (Nix behaviour).
      this.code = c;
      throw e;
    }
  }

  get blackholed(): boolean {
    return this.code === BLACKHOLE;
  }

  get evaluated(): boolean {
    return this.code === null;
  }
}

/** A thunk over a JS function (used by builtins producing lazy results). */
export function lazyThunk(fn: () => Value): Thunk {
  return new Thunk(fn as Code, []);
}

export type Lazy = Value | Thunk;

/**
 * May a container slot holding a forced thunk be overwritten with its value?
 * Always, except for non-empty lists of ≤ 2 elements: 2.8 stores those inside
 * the value cell, so printing tells copies apart by their cell (`«repeated»`).
 */
export function canReplaceCell(v: Value): boolean {
  return !(Array.isArray(v) && v.length > 0 && v.length <= 2);
}

export function force(v: Lazy): Value {
  return v instanceof Thunk ? v.force() : v;
}

/** Compiled lambda metadata, shared by all closures of one `x: …` node. */
export interface LambdaInfo {
  readonly name: string | null;
  readonly pos: Pos;
  /** Formal names (sorted bytewise, for functionArgs) with has-default flags. */
  readonly formals: ReadonlyArray<{ name: string; hasDefault: boolean; pos: Pos }> | null;
  readonly ellipsis: boolean;
  readonly arg: string | null;
  /** Builds the body's environment from the argument (checks formals). */
  readonly enter: (closureEnv: Env, arg: Lazy, callPos: Pos | null | undefined, self: Lambda) => Env;
  readonly body: Code;
  /** When the body is itself a lambda (`a: b: …`): its info, so a call with
   *  two arguments can skip building the intermediate closure. */
  readonly inner: LambdaInfo | null;
}

export class Lambda {
  constructor(readonly info: LambdaInfo, readonly env: Env) {}
}

/** `args` are lazy; a primop forces exactly what Nix forces. `state` is the
 *  EvalState the primop was created for (kept here to save a wrapper frame). */
export type PrimOpFn = (args: Lazy[], pos: Pos | undefined, state: any) => Value;

export class PrimOp {
  constructor(readonly name: string, readonly arity: number, readonly fn: PrimOpFn, readonly state: unknown = null) {}
}

export class PrimOpApp {
  constructor(readonly primop: PrimOp, readonly args: Lazy[]) {}
}

export { NixAttrs } from './attrset.js';

export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- ints --------------------------------------------------------------

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Normalise a bigint to the canonical int representation, wrapping to i64. */
export function mkInt(b: bigint): number | bigint {
  const w = BigInt.asIntN(64, b);
  return w >= MIN_SAFE && w <= MAX_SAFE ? Number(w) : w;
}

export function isInt(v: Value): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

export function toBig(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

export function intToNumber(v: number | bigint): number {
  return typeof v === 'number' ? v : Number(v);
}

// ---- strings -------------------------------------------------------------

const EMPTY_CTX: Context = new Set();

export function mkString(s: string, ctx?: Context | null): string | NixString {
  return ctx && ctx.size > 0 ? new NixString(s, ctx) : s;
}

export function isString(v: Value): v is string | NixString {
  return typeof v === 'string' || v instanceof NixString;
}

export function strOf(v: string | NixString): string {
  return typeof v === 'string' ? v : v.s;
}

export function ctxOf(v: string | NixString): Context {
  return typeof v === 'string' ? EMPTY_CTX : v.context;
}

export function mergeContexts(a: Context, b: Context): Context {
  if (a.size === 0) return b;
  if (b.size === 0) return a;
  const s = new Set(a);
  for (const x of b) s.add(x);
  return s;
}

/** 2.8 keeps a string value as a C string: whatever follows a NUL byte is
 *  never seen. Applied where a NUL can enter a string (literals, JSON, TOML). */
export function cString(s: string): string {
  const k = s.indexOf('\0');
  return k < 0 ? s : s.slice(0, k);
}

/** Byte string → JS (UTF-8 decoded) text, for messages and I/O edges. */
export function bytesToText(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** JS text → byte string (UTF-8 encoded, one char per byte). */
export function textToBytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

// ---- type names (as in 2.8 error messages / typeOf) -------------------------

export type NixTypeName =
  | 'int' | 'float' | 'bool' | 'null' | 'string' | 'path' | 'set' | 'list' | 'lambda' | 'primop' | 'primop-app';

export function typeName(v: Value): NixTypeName {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (v instanceof NixAttrs) return 'set';
  if (v instanceof NixString) return 'string';
  if (v instanceof NixFloat) return 'float';
  if (v instanceof NixPath) return 'path';
  if (v instanceof Lambda) return 'lambda';
  if (v instanceof PrimOp) return 'primop';
  if (v instanceof PrimOpApp) return 'primop-app';
  throw new Error('Assertion failed: unknown value');
}

/** 2.8 `showType`: "an integer", "a set", … */
export function showType(v: Value): string {
  const t = typeName(v);
  switch (t) {
    case 'int': return 'an integer';
    case 'bool': return 'a Boolean';
    case 'string': return v instanceof NixString ? 'a string with context' : 'a string';
    case 'path': return 'a path';
    case 'null': return 'null';
    case 'set': return 'a set';
    case 'list': return 'a list';
    case 'lambda': return 'a function';
    case 'primop': return `the built-in function '${(v as PrimOp).name}'`;
    case 'primop-app': return `the partially applied built-in function '${(v as PrimOpApp).primop.name}'`;
    case 'float': return 'a float';
  }
}

/** `builtins.typeOf` names. */
export function typeOfName(v: Value): string {
  const t = typeName(v);
  return t === 'primop' || t === 'primop-app' ? 'lambda' : t;
}

export function isFunction(v: Value): boolean {
  return v instanceof Lambda || v instanceof PrimOp || v instanceof PrimOpApp;
}

export function wrongType(v: Value, expected: string, pos?: Pos | null): EvalError {
  return new EvalError(EvalErrorCode.E_TYPE, `value is ${showType(v)} while ${expected} was expected`, pos);
}

export function forceInt(v: Lazy, pos?: Pos): number | bigint {
  const x = force(v);
  if (typeof x === 'number' || typeof x === 'bigint') return x;
  throw wrongType(x, 'an integer', pos);
}

export function forceBool(v: Lazy, pos?: Pos): boolean {
  const x = force(v);
  if (typeof x === 'boolean') return x;
  throw wrongType(x, 'a Boolean', pos);
}

export function forceAttrs(v: Lazy, pos?: Pos | null): NixAttrs {
  const x = force(v);
  if (x instanceof NixAttrs) return x;
  throw wrongType(x, 'a set', pos);
}

export function forceFunction(v: Lazy, pos?: Pos): Value {
  const x = force(v);
  if (isFunction(x) || x instanceof NixAttrs) return x;
  throw wrongType(x, 'a function', pos);
}

/** A string, context kept (no coercion). */
export function forceStringValue(v: Lazy, pos?: Pos): string | NixString {
  const x = force(v);
  if (typeof x === 'string' || x instanceof NixString) return x;
  throw wrongType(x, 'a string', pos);
}

/** String contents; context ignored. */
export function forceStr(v: Lazy, pos?: Pos): string {
  const x = force(v);
  if (typeof x === 'string') return x;
  if (x instanceof NixString) return x.s;
  throw wrongType(x, 'a string', pos);
}

/** String that must carry no context (2.8 `forceStringNoCtx`). */
export function forceStrNoCtx(v: Lazy, pos?: Pos): string {
  const x = force(v);
  if (typeof x === 'string') return x;
  if (x instanceof NixString) {
    const first = [...x.context][0]!;
    throw new EvalError(EvalErrorCode.E_EVAL,
      `the string '${x.s}' is not allowed to refer to a store path (such as '${contextPath(first)}')`, pos);
  }
  throw wrongType(x, 'a string', pos);
}

/** The store path named by a context element. */
export function contextPath(el: string): string {
  if (el.startsWith('=')) return el.slice(1);
  if (el.startsWith('!')) return el.slice(el.indexOf('!', 1) + 1);
  return el;
}

export function forceFloatOrInt(v: Lazy, pos?: Pos): number {
  const x = force(v);
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  if (x instanceof NixFloat) return x.value;
  throw wrongType(x, 'a float', pos);
}

export function mkAttrs(entries: Iterable<readonly [string, Lazy]>): NixAttrs {
  return NixAttrs.fromEntries(entries);
}

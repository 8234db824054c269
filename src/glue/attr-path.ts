/**
 * Command-line value navigation shared by `nix-instantiate`, `nix-build`
 * and `nix eval` (Nix 2.8 attr-path.cc `findAlongAttrPath`,
 * eval.cc `autoCallFunction`, get-drvs.cc `getDerivations`).
 */
import {
  EvalError, EvalErrorCode, Lambda, NixAttrs, NixString, callN, coerceToString, force, forceBool, showType,
  type EvalState, type Lazy, type Value,
} from '../eval/index.js';
import { listElem, listElems } from '../eval/index.js';

export type AutoArgs = NixAttrs;

function fail(msg: string): EvalError {
  return new EvalError(EvalErrorCode.E_EVAL, msg);
}

/** Split `a."b.c".0` into components (quotes group dots). */
export function parseAttrPath(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '.') {
      out.push(cur);
      cur = '';
    } else if (c === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) throw fail(`missing closing quote in selection path '${s}'`);
      cur += s.slice(i + 1, end);
      i = end;
    } else cur += c;
  }
  if (cur !== '' || s !== '') out.push(cur);
  return out;
}

/** 2.8 `autoCallFunction`: call functions with formals using the auto args. */
export function autoCallFunction(state: EvalState, args: AutoArgs, fun: Lazy): Value {
  const f = force(fun);
  if (f instanceof NixAttrs) {
    const functor = f.get('__functor');
    if (functor !== undefined) return autoCallFunction(state, args, callN(force(functor), [f], undefined));
  }
  if (!(f instanceof Lambda) || f.info.formals === null) return f;
  const attrs = new Map<string, Lazy>();
  if (f.info.ellipsis) {
    for (const k of args.keys()) attrs.set(k, args.get(k)!);
  } else {
    for (const formal of f.info.formals) {
      const v = args.get(formal.name);
      if (v !== undefined) attrs.set(formal.name, v);
      else if (!formal.hasDefault) {
        throw new EvalError(EvalErrorCode.E_EVAL, `cannot evaluate a function that has an argument without a value ('${formal.name}')

Nix attempted to evaluate a function as a top level expression; in
this case it must have its arguments supplied either by default
values, or passed explicitly with '--arg' or '--argstr'. See
https://nixos.org/manual/nix/stable/#ss-functions.`, f.info.pos);
      }
    }
  }
  return callN(f, [NixAttrs.fromMap(attrs)], undefined);
}

export function findAlongAttrPath(state: EvalState, attrPath: string, args: AutoArgs, root: Lazy): Lazy {
  let v: Lazy = root;
  for (const attr of parseAttrPath(attrPath)) {
    const index = /^[0-9]+$/.test(attr) && Number(attr) <= 0xffffffff ? Number(attr) : undefined;
    const x = force(autoCallFunction(state, args, v));
    if (index === undefined) {
      if (!(x instanceof NixAttrs)) {
        throw new EvalError(EvalErrorCode.E_TYPE, `the expression selected by the selection path '${attrPath}' should be a set but is ${showType(x)}`);
      }
      if (attr === '') throw fail(`empty attribute name in selection path '${attrPath}'`);
      const a = x.get(attr);
      if (a === undefined) throw fail(`attribute '${attr}' in selection path '${attrPath}' not found`);
      v = a;
    } else {
      if (!Array.isArray(x)) {
        throw new EvalError(EvalErrorCode.E_TYPE, `the expression selected by the selection path '${attrPath}' should be a list but is ${showType(x)}`);
      }
      if (index >= x.length) throw fail(`list index ${index} in selection path '${attrPath}' is out of range`);
      v = listElem(x, index);
    }
  }
  return v;
}

export function isDerivationValue(v: Value): v is NixAttrs {
  if (!(v instanceof NixAttrs)) return false;
  const t = v.get('type');
  if (t === undefined) return false;
  const x = force(t);
  return (typeof x === 'string' && x === 'derivation') || (x instanceof NixString && x.s === 'derivation');
}

export interface DrvInfo {
  attrPath: string;
  attrs: NixAttrs;
}

/** 2.8 `DrvInfo::requireDrvPath` (evaluates the derivation, writing its `.drv`). */
export function drvPathOf(state: EvalState, d: DrvInfo): string {
  const dp = d.attrs.get('drvPath');
  if (dp === undefined) throw fail(`derivation does not contain a 'drvPath' attribute`);
  return coerceToString(state, dp, new Set(), { coerceMore: false, copyToStore: false });
}

/** 2.8 `DrvInfo::queryOutputName` ('' when absent). */
export function outputNameOf(state: EvalState, d: DrvInfo): string {
  const on = d.attrs.get('outputName');
  return on === undefined ? '' : coerceToString(state, on, new Set(), { coerceMore: false, copyToStore: false });
}

const ATTR_RE = /^[A-Za-z_][A-Za-z0-9\-_+]*$/;

/** 2.8 `getDerivations` (non-recursive unless `recurseForDerivations`). */
export function getDerivations(state: EvalState, v: Lazy, args: AutoArgs): DrvInfo[] {
  const out: DrvInfo[] = [];
  const done = new Set<NixAttrs>();
  const add = (x: Lazy, path: string): boolean => {
    const val = force(x);
    if (!isDerivationValue(val)) return true;
    if (done.has(val)) return false;
    done.add(val);
    const name = val.get('name');
    if (name === undefined) throw fail('derivation name missing');
    force(name);
    out.push({ attrPath: path, attrs: val });
    return false;
  };
  const walk = (vIn: Lazy, prefix: string): void => {
    const x = force(autoCallFunction(state, args, vIn));
    if (!add(x, prefix)) return;
    const join = (a: string) => (prefix === '' ? a : `${prefix}.${a}`);
    if (x instanceof NixAttrs) {
      for (const k of x.keys()) {
        if (!ATTR_RE.test(k)) continue;
        const child = x.get(k)!;
        if (add(child, join(k))) {
          const cv = force(child);
          if (cv instanceof NixAttrs) {
            const r = cv.get('recurseForDerivations');
            if (r !== undefined && forceBool(r)) walk(cv, join(k));
          }
        }
      }
    } else if (Array.isArray(x)) {
      listElems(x).forEach((e, n) => {
        if (add(e, join(String(n)))) walk(e, join(String(n)));
      });
    } else {
      throw new EvalError(EvalErrorCode.E_TYPE, 'expression does not evaluate to a derivation (or a set or list of those)');
    }
  };
  walk(v, '');
  return out;
}

/**
 * Value printing as `nix-instantiate --eval [--strict]` 2.8 prints it
 * (`operator<<(ostream, Value)`), plus `forceValueDeep` (the `--strict` /
 * `deepSeq` traversal with its `while evaluating the attribute` traces).
 *
 * Format: `{ a = 1; "b c" = 2; }`, `[ 1 2 ]`, strings escaped (`"` `\`
 * `\n` `\r` `\t` `${`), paths bare, floats like C++ ostream (`%g`, 6
 * significant digits), unevaluated thunks `<CODE>`, functions `<LAMBDA>` /
 * `<PRIMOP>` / `<PRIMOP-APP>`, a non-empty set or list printed before
 * `«repeated»`.
 */
import { EvalError } from './errors.js';
import { showAttrName, showString } from './show-expr.js';
import {
  Lambda, NixAttrs, NixFloat, NixPath, NixString, PrimOp, PrimOpApp, Thunk, canReplaceCell, force,
  type Lazy, type Value,
} from './value.js';
import { forceListElem, listElems } from './list.js';

const REPEATED = Buffer.from('«repeated»', 'utf8').toString('latin1');

/** C++ ostream default float formatting (`%g`, precision 6). */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expStr] = x.toExponential(5).split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const sign = exp < 0 ? '-' : '+';
    const a = Math.abs(exp);
    return `${m}e${sign}${a < 10 ? '0' + a : a}`;
  }
  const fixed = x.toFixed(Math.max(0, 5 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** Print a value; unevaluated parts print as `<CODE>`. */
export function printValue(v: Lazy): string {
  const out: string[] = [];
  const seen = new Set<object>();
  printInto(v, out, seen);
  return out.join('');
}

function printInto(lz: Lazy, out: string[], seen: Set<object>): void {
  let cell: object | null = null;
  if (lz instanceof Thunk) {
    if (!lz.evaluated) {
      out.push('<CODE>');
      return;
    }
    cell = lz;
    lz = lz.value;
  }
  const v: Value = lz;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      out.push(v.toString());
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'string':
      out.push(showString(v));
      return;
  }
  if (v === null) out.push('null');
  else if (v instanceof NixString) out.push(showString(v.s));
  else if (v instanceof NixFloat) out.push(formatFloat(v.value));
  else if (v instanceof NixPath) out.push(v.path);
  else if (Array.isArray(v)) {
    if (v.length > 0) {
      // 2.8 stores lists of ≤ 2 elements inside the value cell, so their
      // identity is the cell's (a copy through a thunk is a new list).
      const key = v.length <= 2 && cell !== null ? cell : v;
      if (seen.has(key)) return void out.push(REPEATED);
      seen.add(key);
    }
    out.push('[ ');
    for (const x of listElems(v)) {
      printInto(x, out, seen);
      out.push(' ');
    }
    out.push(']');
  } else if (v instanceof NixAttrs) {
    if (v.size > 0) {
      if (seen.has(v)) return void out.push(REPEATED);
      seen.add(v);
    }
    out.push('{ ');
    for (let i = 0; i < v.names.length; i++) {
      out.push(showAttrName(v.names[i]!), ' = ');
      printInto(v.valueAt(i), out, seen);
      out.push('; ');
    }
    out.push('}');
  } else if (v instanceof Lambda) out.push('<LAMBDA>');
  else if (v instanceof PrimOp) out.push('<PRIMOP>');
  else if (v instanceof PrimOpApp) out.push('<PRIMOP-APP>');
  else out.push('<UNKNOWN>');
}

/**
 * Force a value completely (2.8 `forceValueDeep`). Errors get a
 * `while evaluating the attribute 'x'` frame per enclosing attribute.
 */
export function forceValueDeep(v: Lazy): Value {
  const top = force(v);
  deep(top, ++deepEpoch, new Set());
  return top;
}

let deepEpoch = 0;

function deep(v: Value, epoch: number, seenLists: Set<object>): void {
  if (v instanceof NixAttrs) {
    // An epoch mark instead of a Set: deepSeq of big trees visits ~1M sets.
    if (v.mark === epoch) return;
    v.mark = epoch;
    const n = v.names.length;
    for (let i = 0; i < n; i++) {
      const x = v.valueAt(i);
      if (!(x instanceof Thunk) && !(x instanceof NixAttrs) && !Array.isArray(x)) continue;
      try {
        const y = force(x);
        // Drop the forced thunk: less live memory for the GC to copy.
        if (x !== y && canReplaceCell(y)) v.setValueAt(i, y);
        deep(y, epoch, seenLists);
      } catch (e) {
        if (e instanceof EvalError) e.addFrame(`while evaluating the attribute '${v.names[i]}'`, v.positions?.[i]);
        throw e;
      }
    }
  } else if (Array.isArray(v)) {
    if (v.length === 0 || seenLists.has(v)) return;
    seenLists.add(v);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== undefined && !(x instanceof Thunk) && !(x instanceof NixAttrs) && !Array.isArray(x)) continue;
      deep(forceListElem(v, i), epoch, seenLists);
    }
  }
}

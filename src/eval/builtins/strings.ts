/**
 * String primops (Nix 2.8): toString, stringLength, substring (byte
 * offsets), concatStringsSep, replaceStrings (all replacements forced up
 * front, as 2.8 does), hashString, baseNameOf, dirOf. Context is carried
 * through as 2.8 does.
 */
import { createHash } from 'node:crypto';
import { coerceToString } from '../coerce.js';
import { EvalError, EvalErrorCode } from '../errors.js';
import { baseNameOf, dirOf } from '../paths.js';
import {
  NixPath, Thunk, force, forceInt, forceStr, forceStringValue, intToNumber, strOf, ctxOf,
  type Lazy,
} from '../value.js';
import { forceList } from '../list.js';
import type { BuiltinRegistry } from './registry.js';
import { coerceStr, mkStr } from './util.js';

const HASH_ALGOS = new Set(['md5', 'sha1', 'sha256', 'sha512']);

export function hashHex(algo: string, data: string): string {
  checkHashAlgo(algo);
  return createHash(algo).update(Buffer.from(data, 'latin1')).digest('hex');
}

export function checkHashAlgo(algo: string): void {
  if (!HASH_ALGOS.has(algo)) {
    // 2.8's parseHashType throws a UsageError: no position, a usage hint.
    throw new EvalError(EvalErrorCode.E_EVAL, `unknown hash algorithm '${algo}'`, null, { usage: true });
  }
}

export function register(r: BuiltinRegistry): void {
  r.add('toString', 1, (args, pos, state) => { const v = args[0];
    const x = v instanceof Thunk ? v.force() : v!;
    if (typeof x === 'string') return x;
    if (typeof x === 'number') return String(x);
    const ctx = new Set<string>();
    const s = coerceToString(state, v!, ctx, { coerceMore: true, copyToStore: false }, pos);
    return mkStr(s, ctx);
  });
  r.add('stringLength', 1, (args, pos, state) => { const v = args[0];
    const x = force(v!);
    return (typeof x === 'string' ? x : coerceStr(state, x, new Set(), pos)).length;
  });
  r.add('substring', 3, (args, pos, state) => { const st = args[0], ln = args[1], v = args[2];
    const start = intToNumber(forceInt(st!, pos));
    const len = intToNumber(forceInt(ln!, pos));
    const ctx = new Set<string>();
    const s = coerceStr(state, v!, ctx, pos);
    if (start < 0) throw new EvalError(EvalErrorCode.E_EVAL, "negative start position in 'substring'", pos);
    const end = len < 0 ? s.length : Math.min(s.length, start + len);
    return mkStr(start >= s.length ? '' : s.slice(start, end), ctx);
  });
  r.add('concatStringsSep', 2, (args, pos, state) => { const sepV = args[0], l = args[1];
    const sep = forceStringValue(sepV!, pos);
    const ctx = new Set<string>(ctxOf(sep));
    const parts: string[] = [];
    for (const x of forceList(l!, pos)) parts.push(coerceStr(state, x, ctx, pos));
    return mkStr(parts.join(strOf(sep)), ctx);
  });
  r.add('replaceStrings', 3, (args, pos) => { const fromV = args[0], toV = args[1], sV = args[2];
    const from = forceList(fromV!, pos).map((x) => forceStr(x, pos));
    const toList = forceList(toV!, pos);
    if (from.length !== toList.length) {
      throw new EvalError(EvalErrorCode.E_EVAL, "'from' and 'to' arguments to 'replaceStrings' have different lengths", pos);
    }
    const to = toList.map((x) => forceStringValue(x, pos));
    const sv = forceStringValue(sV!, pos);
    const s = strOf(sv);
    const ctx = new Set<string>(ctxOf(sv));
    // Unmatched text is copied in runs (not char by char); positions where
    // no pattern can start are skipped by their first byte.
    const n = s.length;
    const hasEmpty = from.some((f) => f.length === 0);
    const firsts = new Set(from.map((f) => f.charCodeAt(0)));
    let out = '';
    let run = 0;
    let i = 0;
    while (i <= n) {
      if (!hasEmpty && (i === n || !firsts.has(s.charCodeAt(i)))) { i++; continue; }
      let k = 0;
      while (k < from.length && !s.startsWith(from[k]!, i)) k++;
      if (k === from.length) { i++; continue; }
      out += s.slice(run, i) + strOf(to[k]!);
      for (const c of ctxOf(to[k]!)) ctx.add(c);
      if (from[k]!.length === 0) {
        // 2.8: an empty pattern matches before every byte and at the end.
        if (i < n) out += s[i];
        i++;
      } else i += from[k]!.length;
      run = i;
    }
    if (run < n) out += s.slice(run);
    return mkStr(out, ctx);
  });
  r.add('hashString', 2, (args, pos) => { const a = args[0], v = args[1];
    const algo = forceStr(a!, pos);
    const s = forceStr(v!, pos);
    return hashHex(algo, s);
  });
  r.add('baseNameOf', 1, (args, pos, state) => { const v = args[0];
    const ctx = new Set<string>();
    const s = coerceToString(state, v!, ctx, { coerceMore: false, copyToStore: false }, pos);
    return mkStr(baseNameOf(s), ctx);
  });
  r.add('dirOf', 1, (args, pos, state) => { const v = args[0];
    const x = force(v!);
    if (x instanceof NixPath) return new NixPath(dirOf(x.path));
    const ctx = new Set<string>();
    const s = coerceToString(state, x, ctx, { coerceMore: false, copyToStore: false }, pos);
    return mkStr(dirOf(s), ctx);
  });
}

export type { Lazy };

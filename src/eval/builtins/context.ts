/**
 * String-context primops (Nix 2.8): getContext, hasContext, appendContext,
 * unsafeDiscardStringContext, unsafeDiscardOutputDependency. Context
 * elements use 2.8's encoding: `/s/p` (path), `=/s/x.drv` (all outputs),
 * `!out!/s/x.drv` (one output).
 */
import type { Pos } from '../ast.js';
import { EvalError, EvalErrorCode } from '../errors.js';
import type { EvalState } from '../state.js';
import {
  NixAttrs, ctxOf, forceAttrs, forceBool, forceStr, forceStringValue, strOf, type Lazy,
} from '../value.js';
import { forceList } from '../list.js';
import type { BuiltinRegistry } from './registry.js';
import { coerceStr, mkStr } from './util.js';

export function isStorePath(state: EvalState, p: string): boolean {
  const dir = state.storeDir + '/';
  if (!p.startsWith(dir)) return false;
  const base = p.slice(dir.length);
  return base.length > 33 && base[32] === '-' && !base.includes('/');
}

function getContext(ctx: Iterable<string>): NixAttrs {
  const info = new Map<string, { path: boolean; all: boolean; outputs: string[] }>();
  const get = (p: string) => {
    let e = info.get(p);
    if (!e) info.set(p, (e = { path: false, all: false, outputs: [] }));
    return e;
  };
  for (const c of ctx) {
    if (c.startsWith('=')) get(c.slice(1)).all = true;
    else if (c.startsWith('!')) {
      const i = c.indexOf('!', 1);
      get(c.slice(i + 1)).outputs.push(c.slice(1, i));
    } else get(c).path = true;
  }
  const m = new Map<string, Lazy>();
  for (const [p, e] of info) {
    const a = new Map<string, Lazy>();
    if (e.all) a.set('allOutputs', true);
    if (e.outputs.length > 0) a.set('outputs', e.outputs.sort());
    if (e.path) a.set('path', true);
    m.set(p, NixAttrs.fromMap(a));
  }
  return NixAttrs.fromMap(m);
}

function appendContext(state: EvalState, s: string, ctxIn: Iterable<string>, attrs: NixAttrs, pos: Pos | undefined) {
  const ctx = new Set(ctxIn);
  for (const p of attrs.keys()) {
    // 2.8 checks each entry at its attribute's position.
    const at = attrs.posOf(p) ?? pos;
    if (!isStorePath(state, p)) {
      throw new EvalError(EvalErrorCode.E_EVAL, `Context key '"${p}"' is not a store path`, at);
    }
    const a = forceAttrs(attrs.get(p)!, at);
    const path = a.get('path');
    if (path !== undefined && forceBool(path, a.posOf('path') ?? at)) ctx.add(p);
    const all = a.get('allOutputs');
    if (all !== undefined && forceBool(all, a.posOf('allOutputs') ?? at)) {
      if (!p.endsWith('.drv')) {
        throw new EvalError(EvalErrorCode.E_EVAL,
          `Tried to add all-outputs context of ${p}, which is not a derivation, to a string`, at);
      }
      ctx.add('=' + p);
    }
    const outs = a.get('outputs');
    if (outs !== undefined) {
      const opos = a.posOf('outputs') ?? at;
      const list = forceList(outs, opos);
      if (list.length > 0 && !p.endsWith('.drv')) {
        throw new EvalError(EvalErrorCode.E_EVAL,
          `Tried to add derivation output context of ${p}, which is not a derivation, to a string`, at);
      }
      for (const o of list) ctx.add(`!${forceStr(o, opos)}!${p}`);
    }
  }
  return mkStr(s, ctx);
}

export function register(r: BuiltinRegistry): void {
  r.add('getContext', 1, (args, pos) => { const v = args[0]; return getContext(ctxOf(forceStringValue(v!, pos))); });
  r.add('hasContext', 1, (args, pos) => { const v = args[0]; return ctxOf(forceStringValue(v!, pos)).size > 0; });
  r.add('unsafeDiscardStringContext', 1, (args, pos, state) => { const v = args[0];
    return coerceStr(state, v!, new Set(), pos);
  });
  r.add('unsafeDiscardOutputDependency', 1, (args, pos, state) => { const v = args[0];
    // 2.8 coerces (paths are copied, sets with outPath/__toString accepted).
    const ctxIn = new Set<string>();
    const s = coerceStr(state, v!, ctxIn, pos);
    const ctx = new Set<string>();
    for (const c of ctxIn) ctx.add(c.startsWith('=') ? c.slice(1) : c);
    return mkStr(s, ctx);
  });
  r.add('appendContext', 2, (args, pos, state) => { const v = args[0], c = args[1];
    const x = forceStringValue(v!, pos);
    return appendContext(state, strOf(x), ctxOf(x), forceAttrs(c!, pos), pos);
  });
}

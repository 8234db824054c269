/**
 * Builds the base environment: every builtin into `builtins`, the 22
 * global names bare, the rest as `__name` (Nix 2.8 `createBaseEnv`).
 * Constants and the `derivation` wrapper are lazy (thunks) so start-up does
 * no work for builtins never used.
 */
import type { EvalState } from '../state.js';
import { NixAttrs, PrimOp, Thunk, type Env, type Lazy } from '../value.js';
import * as attrs from './attrs.js';
import * as constants from './constants.js';
import * as context from './context.js';
import * as control from './control.js';
import * as derivation from './derivation.js';
import * as fetchers from './fetchers.js';
import * as fs from './fs.js';
import * as lists from './lists.js';
import * as math from './math.js';
import { BuiltinRegistry, GLOBAL } from './registry.js';
import * as strings from './strings.js';
import * as types from './types.js';
import * as versions from './versions.js';

/** Families registered in order; later registrations replace earlier ones. */
const FAMILIES: Array<{ register(r: BuiltinRegistry): void }> = [
  constants, types, math, attrs, lists, strings, versions, control, context, fs, derivation, fetchers,
];

/** eval-front's families (json, xml, toml, regex) call this at import time. */
const extraFamilies: Array<{ register(r: BuiltinRegistry): void }> = [];
export function registerFamily(f: { register(r: BuiltinRegistry): void }): void {
  extraFamilies.push(f);
}

export function createBuiltins(
  state: EvalState, extra?: (r: BuiltinRegistry) => void,
): { scopeVars: Map<string, number>; env: Env; builtins: NixAttrs } {
  const r = new BuiltinRegistry();
  for (const f of FAMILIES) f.register(r);
  for (const f of extraFamilies) f.register(r);
  extra?.(r);

  const values = new Map<string, Lazy>();
  for (const spec of r.specs.values()) {
    if (spec.arity === 0) {
      values.set(spec.name, new Thunk(() => spec.fn([], undefined, state), []));
    } else {
      const fn = spec.fn;
      values.set(spec.name, new PrimOp(spec.name, spec.arity, (args, pos) => fn(args, pos, state)));
    }
  }
  const builtins = new NixAttrs(values);
  values.set('builtins', builtins);

  const scopeVars = new Map<string, number>();
  const env: Env = [null];
  for (const [name, v] of values) {
    const scoped = GLOBAL.has(name) ? name : '__' + name;
    scopeVars.set(scoped, env.length);
    env.push(v);
  }
  return { scopeVars, env, builtins };
}

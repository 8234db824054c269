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
import * as json from './json.js';
import * as lists from './lists.js';
import * as math from './math.js';
import * as regex from './regex.js';
import { BuiltinRegistry, GLOBAL } from './registry.js';
import * as strings from './strings.js';
import * as toml from './toml.js';
import * as types from './types.js';
import * as versions from './versions.js';
import * as xml from './xml.js';

/** Families registered in order; later registrations replace earlier ones. */
const FAMILIES: Array<{ register(r: BuiltinRegistry): void }> = [
  constants, types, math, attrs, lists, strings, versions, control, context, fs, derivation, fetchers,
  json, xml, toml, regex,
];

/** Optional self-registration at import time (kept for modules that call
 *  it; the families above are imported statically). `var`: callable while
 *  this module is still initialising (import cycle). */
// eslint-disable-next-line no-var
var extraFamilies: Set<{ register(r: BuiltinRegistry): void }> | undefined;
export function registerFamily(f: { register(r: BuiltinRegistry): void }): void {
  (extraFamilies ??= new Set()).add(f);
}

export function createBuiltins(
  state: EvalState, extra?: (r: BuiltinRegistry) => void,
): { scopeVars: Map<string, number>; env: Env; builtins: NixAttrs } {
  const r = new BuiltinRegistry();
  for (const f of FAMILIES) f.register(r);
  for (const f of extraFamilies ?? []) if (!FAMILIES.includes(f)) f.register(r);
  extra?.(r);
  if (state.pureEval) {
    // 2.8 pure mode has no clock and no host platform.
    r.specs.delete('currentSystem');
    r.specs.delete('currentTime');
  }

  const values = new Map<string, Lazy>();
  for (const spec of r.specs.values()) {
    if (spec.arity === 0) {
      // Plain constants are values (2.8 prints `null`, not <CODE>, for a
      // variable bound to them); only the costly `derivation` stays lazy.
      values.set(spec.name, spec.name === 'derivation'
        ? new Thunk(() => spec.fn([], undefined, state), [])
        : spec.fn([], undefined, state));
    } else {
      const fn = spec.fn;
      values.set(spec.name, new PrimOp(spec.name, spec.arity, fn, state));
    }
  }
  const builtins = new NixAttrs();
  values.set('builtins', builtins);
  const all = NixAttrs.fromMap(values);
  builtins.assign(all.names, all.valueList(), all.positions);

  const scopeVars = new Map<string, number>();
  const env: Env = [null];
  for (const [name, v] of values) {
    const scoped = GLOBAL.has(name) ? name : '__' + name;
    scopeVars.set(scoped, env.length);
    env.push(v);
  }
  return { scopeVars, env, builtins };
}

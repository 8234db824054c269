/**
 * Builtin registration. Each family file (`attrs.ts`, `lists.ts`, …, and
 * eval-front's `json.ts`/`xml.ts`/`toml.ts`/`regex.ts`) exports
 * `register(r: BuiltinRegistry)`; glue may register overrides afterwards
 * (`EvalOptions.extraBuiltins`), e.g. for `derivationStrict` or fetchers.
 *
 * Nix 2.8 scoping: every builtin is in `builtins`; the 22 names in `GLOBAL`
 * are also in scope bare; all others are in scope as `__name`.
 */
import type { Pos } from '../ast.js';
import type { EvalState } from '../state.js';
import type { Lazy, Value } from '../value.js';

/** Arguments arrive lazy: force exactly what Nix 2.8 forces. `pos` is the
 *  call site (may be undefined when called from other builtins). */
export type BuiltinFn = (args: Lazy[], pos: Pos | undefined, state: EvalState) => Value;

export interface BuiltinSpec {
  readonly name: string;
  /** 0 = a constant, computed once by `fn([], undefined, state)` on first use. */
  readonly arity: number;
  readonly fn: BuiltinFn;
}

export const GLOBAL = new Set([
  'abort', 'baseNameOf', 'builtins', 'derivation', 'derivationStrict', 'dirOf', 'false',
  'fetchGit', 'fetchMercurial', 'fetchTarball', 'fetchTree', 'fromTOML', 'import', 'isNull',
  'map', 'null', 'placeholder', 'removeAttrs', 'scopedImport', 'throw', 'toString', 'true',
]);

export class BuiltinRegistry {
  readonly specs = new Map<string, BuiltinSpec>();

  /** Register (or replace) a builtin function of `arity` ≥ 1. */
  add(name: string, arity: number, fn: BuiltinFn): void {
    this.specs.set(name, { name, arity, fn });
  }

  /** Register (or replace) a non-function member (`nixVersion`, `true`, …). */
  constant(name: string, fn: (state: EvalState) => Value): void {
    this.specs.set(name, { name, arity: 0, fn: (_a, _p, s) => fn(s) });
  }
}

/**
 * Static scopes (Nix 2.8 `StaticEnv`): variables resolve to (depth, index)
 * at compile time. A `with` scope holds no names; a variable not bound
 * lexically is looked up dynamically in the enclosing `with`s, innermost
 * first, and is an `undefined variable` error at compile time when there is
 * no enclosing `with` at all (2.8 reports it even in dead code).
 */

export class Scope {
  /** `vars` maps a name to its slot index (slots start at 1; 0 is the parent). */
  constructor(
    readonly parent: Scope | null,
    readonly vars: ReadonlyMap<string, number> | null,
  ) {}

  get isWith(): boolean {
    return this.vars === null;
  }

  static withScope(parent: Scope): Scope {
    return new Scope(parent, null);
  }
}

export type Resolution =
  | { kind: 'lexical'; depth: number; index: number }
  | { kind: 'with'; depths: number[] }
  | { kind: 'undefined' };

export function resolve(scope: Scope, name: string): Resolution {
  const withDepths: number[] = [];
  let depth = 0;
  for (let s: Scope | null = scope; s; s = s.parent, depth++) {
    if (s.vars === null) {
      withDepths.push(depth);
      continue;
    }
    const i = s.vars.get(name);
    if (i !== undefined) return { kind: 'lexical', depth, index: i };
  }
  return withDepths.length > 0 ? { kind: 'with', depths: withDepths } : { kind: 'undefined' };
}

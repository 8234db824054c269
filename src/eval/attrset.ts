/**
 * Attribute sets (Nix 2.8 `Bindings`), split from value.ts: parallel arrays
 * of names (sorted bytewise) and lazy values, with optional source positions.
 */
import type { Pos } from './ast.js';
import type { Lazy } from './value.js';

/**
 * `names` arrays that `set` made for one set alone (and so may change in
 * place). Kept out of the sets themselves: a field would cost 8 bytes in
 * every set, and only builders call `set`.
 */
const OWNED = new WeakSet<string[]>();

/**
 * Attribute set (Nix 2.8 `Bindings`): parallel arrays sorted bytewise by
 * name (JS `<` on byte strings is bytewise), like Nix's sorted vector.
 * Literal sets share their `names`/`positions` arrays between instances;
 * only `values` is per instance. Lookup: linear for small sets, binary
 * search above. Treat as immutable once built (`set` is for builders).
 */
export class NixAttrs {
  /** Traversal mark (forceValueDeep epoch). */
  mark = 0;

  constructor(
    public names: string[] = [],
    public values: Lazy[] = [],
    /** Source positions parallel to `names` (for unsafeGetAttrPos), or null. */
    public positions: Array<Pos | undefined> | null = null,
  ) {}

  /** Build from unsorted entries (later duplicates replace earlier ones). */
  static fromMap(m: ReadonlyMap<string, Lazy>, positions?: ReadonlyMap<string, Pos> | null): NixAttrs {
    // Default sort compares UTF-16 units: bytewise on byte strings, and native.
    const names = [...m.keys()].sort();
    const values = names.map((n) => m.get(n)!);
    const pos = positions && positions.size > 0 ? names.map((n) => positions.get(n)) : null;
    return new NixAttrs(names, values, pos);
  }

  static fromEntries(entries: Iterable<readonly [string, Lazy]>): NixAttrs {
    return NixAttrs.fromMap(new Map(entries));
  }

  get size(): number {
    return this.names.length;
  }

  indexOf(name: string): number {
    const ns = this.names;
    const n = ns.length;
    if (n <= 8) {
      for (let i = 0; i < n; i++) if (ns[i] === name) return i;
      return -1;
    }
    let lo = 0, hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = ns[mid]!;
      if (k === name) return mid;
      if (k < name) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  get(name: string): Lazy | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  /** Builder use only: insert or replace keeping the order. */
  set(name: string, v: Lazy, pos?: Pos): void {
    const i = this.indexOf(name);
    if (i >= 0) {
      this.values[i] = v;
      if (pos) this.ownPositions()[i] = pos;
      return;
    }
    let at = this.names.length;
    while (at > 0 && this.names[at - 1]! > name) at--;
    if (!OWNED.has(this.names)) {
      // names/positions may be shared with other instances of a literal: copy.
      this.names = this.names.slice();
      if (this.positions) this.positions = this.positions.slice();
      OWNED.add(this.names);
    }
    this.names.splice(at, 0, name);
    this.values.splice(at, 0, v);
    if (this.positions || pos) {
      if (!this.positions) this.positions = new Array<Pos | undefined>(this.names.length - 1);
      this.positions.splice(at, 0, pos);
    }
  }

  private ownPositions(): Array<Pos | undefined> {
    if (!OWNED.has(this.names) || !this.positions) {
      this.names = this.names.slice();
      this.positions = this.positions ? this.positions.slice() : new Array<Pos | undefined>(this.names.length);
      OWNED.add(this.names);
    }
    return this.positions;
  }

  /** Sorted names (do not mutate). */
  keys(): string[] {
    return this.names;
  }

  posOf(name: string): Pos | undefined {
    if (!this.positions) return undefined;
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.positions[i];
  }

  /** A Map view (copy). */
  get map(): Map<string, Lazy> {
    const m = new Map<string, Lazy>();
    for (let i = 0; i < this.names.length; i++) m.set(this.names[i]!, this.values[i]!);
    return m;
  }

  static readonly empty = new NixAttrs();
}


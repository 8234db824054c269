/**
 * Attribute sets (Nix 2.8 `Bindings`), split from value.ts: names (sorted
 * bytewise), lazy values and optional source positions.
 */
import type { Pos } from './ast.js';
import type { Lazy } from './value.js';

/**
 * `names` arrays that `set` made for one set alone (and so may change in
 * place). Kept out of the sets themselves: a field would cost 8 bytes in
 * every set, and only builders call `set`.
 */
const OWNED = new WeakSet<string[]>();

const NO_VALUES: Lazy[] = [];

/**
 * Where a literal set was written (2.8 `Bindings::pos`), keyed by the
 * literal's shared `names` array: read only to place errors (getAttr,
 * listToAttrs, toJSON, …), so no set pays a field for it. Sets made by `//`,
 * builtins or `set` have none, as in 2.8.
 */
const LITERAL_POS = new WeakMap<string[], Pos>();

export function setLiteralPos(names: string[], pos: Pos): void {
  LITERAL_POS.set(names, pos);
}

/** The position of the literal `a` was built from, if any. */
export function attrsPos(a: NixAttrs): Pos | undefined {
  return LITERAL_POS.get(a.names);
}

/**
 * Attribute set (Nix 2.8 `Bindings`): names sorted bytewise (JS `<` on byte
 * strings is bytewise), like Nix's sorted vector, with parallel values.
 * Literal sets share their `names`/`positions` arrays between instances.
 * Lookup: linear for small sets, binary search above. Treat as immutable
 * once built (`set` is for builders).
 *
 * Values of a set of at most two attributes sit in the set itself (`v0`,
 * `v1`; `more` null), larger sets keep them in `more`. The GC's cost is per
 * live object: a two-attribute set is one object instead of three (set,
 * array, backing store); measured on 300k live `{ a; b; }` sets: CPU
 * 100 -> 50 ms, heap 46 -> 31 MB. Read with `valueAt`, write with
 * `setValueAt`.
 */
export class NixAttrs {
  /** Traversal mark (forceValueDeep epoch). */
  mark = 0;
  names: string[];
  /** Source positions parallel to `names` (for unsafeGetAttrPos), or null. */
  positions: Array<Pos | undefined> | null;
  v0: Lazy | undefined;
  v1: Lazy | undefined;
  /** All the values when there are more than two, else null. */
  more!: Lazy[] | null;

  /** `values` parallel to `names`; kept only when longer than two. */
  constructor(names: string[] = [], values: Lazy[] = NO_VALUES, positions: Array<Pos | undefined> | null = null) {
    this.names = names;
    this.positions = positions;
    this.setValues(values);
  }

  /** A set of one or two attributes (`v1` undefined for one), without a values array. */
  static small(names: string[], v0: Lazy, v1: Lazy | undefined, positions: Array<Pos | undefined> | null): NixAttrs {
    const a = new NixAttrs(names, NO_VALUES, positions);
    a.v0 = v0;
    a.v1 = v1;
    return a;
  }

  valueAt(i: number): Lazy {
    const m = this.more;
    return (m !== null ? m[i] : i === 0 ? this.v0 : this.v1)!;
  }

  setValueAt(i: number, v: Lazy): void {
    const m = this.more;
    if (m !== null) m[i] = v;
    else if (i === 0) this.v0 = v;
    else this.v1 = v;
  }

  /** The values in name order, as a new array. */
  valueList(): Lazy[] {
    const m = this.more;
    if (m !== null) return m.slice();
    const n = this.names.length;
    return n === 0 ? [] : n === 1 ? [this.v0!] : [this.v0!, this.v1!];
  }

  /** Builder use only: replace all names and values. */
  assign(names: string[], values: Lazy[], positions: Array<Pos | undefined> | null): void {
    this.names = names;
    this.positions = positions;
    this.setValues(values);
  }

  /** `values` in `v0`/`v1` when at most two, else kept as `more`. */
  private setValues(values: Lazy[]): void {
    if (values.length <= 2) {
      this.v0 = values[0];
      this.v1 = values[1];
      this.more = null;
    } else {
      this.v0 = undefined;
      this.v1 = undefined;
      this.more = values;
    }
  }

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
    return i < 0 ? undefined : this.valueAt(i);
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  /** Builder use only: insert or replace keeping the order. */
  set(name: string, v: Lazy, pos?: Pos): void {
    const i = this.indexOf(name);
    if (i >= 0) {
      this.setValueAt(i, v);
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
    const values = this.more ?? this.valueList();
    this.names.splice(at, 0, name);
    values.splice(at, 0, v);
    if (this.positions || pos) {
      if (!this.positions) this.positions = new Array<Pos | undefined>(this.names.length - 1);
      this.positions.splice(at, 0, pos);
    }
    this.assign(this.names, values, this.positions);
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
    for (let i = 0; i < this.names.length; i++) m.set(this.names[i]!, this.valueAt(i));
    return m;
  }

  static readonly empty = new NixAttrs();
}


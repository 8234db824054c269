/**
 * Lists whose element thunks are made on first use (`genList`'s lists).
 *
 * 2.8's `genList` allocates one application thunk per element up front
 * (`mkApp(f, i)`). The semantics are kept (each element is `f i`, forced at
 * most once, blackholed while forced), but here a cell's thunk is only made
 * when the cell is first read. Why: N unforced thunks held by a long list
 * all survive V8's young-generation collections and are copied by each one;
 * that copying was ~70% of `foldl' add 0 (genList (x: x) 1000000)`. A thunk
 * made, forced and replaced by its value straight away dies young and costs
 * next to nothing.
 *
 * Such a list is a JS array whose unmade cells are holes, with the cell
 * maker in `gen`. `forceList` (and `listElems`) make every remaining cell,
 * so code reading cells directly sees a plain list of thunks, as in 2.8;
 * only consumers that read cell by cell use `forceListCells` with
 * `listElem` / `forceListElem`, and never see a hole.
 */
import type { Pos } from './ast.js';
import { Thunk, canReplaceCell, force, wrongType, type Lazy, type Value } from './value.js';

type Cells = Lazy[] & { gen?: ((i: number) => Thunk) | undefined };

/** A list of `len` cells, cell `i` being `make(i)` when first read. */
export function mkGenList(len: number, make: (i: number) => Thunk): Lazy[] {
  if (len === 0) return [];
  const xs = new Array(len) as Cells;
  xs.gen = make;
  return xs;
}

/** The list with every cell made: what 2.8 holds from the start. */
export function listElems(xs: Lazy[]): Lazy[] {
  const make = (xs as Cells).gen;
  if (make !== undefined) {
    (xs as Cells).gen = undefined;
    for (let i = 0; i < xs.length; i++) if (xs[i] === undefined) xs[i] = make(i);
  }
  return xs;
}

/** Cell `i` (0 ≤ i < length), unforced. */
export function listElem(xs: Lazy[], i: number): Lazy {
  const x = xs[i];
  if (x !== undefined) return x;
  return (xs[i] = (xs as Cells).gen!(i));
}

/** Cell `i` (0 ≤ i < length) forced; the cell then holds the value itself
 *  (unless `canReplaceCell` says its identity matters), so a forced thunk
 *  can be collected. */
export function forceListElem(xs: Lazy[], i: number): Value {
  let x = xs[i];
  if (x === undefined) x = xs[i] = (xs as Cells).gen!(i);
  if (!(x instanceof Thunk)) return x;
  const v = x.code === null ? x.value as Value : x.force();
  if (canReplaceCell(v)) xs[i] = v;
  return v;
}

/** After a call was given cell `i` unforced: if the call forced it, keep the
 *  value in the cell and let the thunk go. */
export function settleListElem(xs: Lazy[], i: number): void {
  const x = xs[i];
  if (x instanceof Thunk && x.code === null && canReplaceCell(x.value as Value)) xs[i] = x.value as Value;
}

/** A list with every cell made. */
export function forceList(v: Lazy, pos?: Pos): Lazy[] {
  const x = force(v);
  if (Array.isArray(x)) return listElems(x);
  throw wrongType(x, 'a list', pos);
}

/** A list whose cells may be unmade: read them only with `listElem` /
 *  `forceListElem`. */
export function forceListCells(v: Lazy, pos?: Pos): Lazy[] {
  const x = force(v);
  if (Array.isArray(x)) return x;
  throw wrongType(x, 'a list', pos);
}

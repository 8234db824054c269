import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forceList, forceListCells, forceListElem, listElem, listElems, mkGenList, settleListElem } from './list.js';
import { Thunk, type Lazy, type Value } from './value.js';
import { EvalError, EvalErrorCode } from './errors.js';

/** A generated list whose cell i evaluates `body(i)`, counting cells made and forced. */
function counted(len: number, body: (i: number) => Value) {
  const made: number[] = [];
  const forced: number[] = [];
  const xs = mkGenList(len, (i) => {
    made.push(i);
    return new Thunk(() => { forced.push(i); return body(i); }, null);
  });
  return { xs, made, forced };
}

test('a generated list makes no cell until one is read', () => {
  const { xs, made } = counted(5, (i) => i);
  assert.equal(xs.length, 5);
  assert.equal(forceListCells(xs).length, 5);
  assert.deepEqual(made, []);
});

test('forceListElem makes and forces only its cell, once, and keeps the value', () => {
  const { xs, made, forced } = counted(4, (i) => i * 10);
  assert.equal(forceListElem(xs, 2), 20);
  assert.equal(forceListElem(xs, 2), 20);
  assert.deepEqual(made, [2]);
  assert.deepEqual(forced, [2]);
  assert.equal(xs[2], 20);
  assert.equal(xs[1], undefined);
});

test('listElem returns the same unforced thunk each time', () => {
  const { xs, forced } = counted(3, (i) => i);
  const a = listElem(xs, 1);
  assert.ok(a instanceof Thunk);
  assert.equal(listElem(xs, 1), a);
  assert.deepEqual(forced, []);
});

test('settleListElem swaps a forced cell for its value and leaves an unforced one', () => {
  const { xs } = counted(2, (i) => i + 5);
  const t = listElem(xs, 0) as Thunk;
  const u = listElem(xs, 1) as Thunk;
  t.force();
  settleListElem(xs, 0);
  settleListElem(xs, 1);
  assert.equal(xs[0], 5);
  assert.equal(xs[1], u);
});

test('a short non-empty list value keeps its thunk cell (identity shown by «repeated»)', () => {
  const short: Value = [1];
  const long: Value = [1, 2, 3];
  const { xs } = counted(2, (i) => (i === 0 ? short : long));
  forceListElem(xs, 0);
  forceListElem(xs, 1);
  assert.ok(xs[0] instanceof Thunk);
  assert.equal(xs[1], long);
});

test('listElems and forceList make every remaining cell, unforced, exactly once', () => {
  const { xs, made, forced } = counted(4, (i) => i);
  forceListElem(xs, 1);
  const all = forceList(xs);
  assert.equal(all, xs);
  assert.deepEqual(made.slice().sort(), [0, 1, 2, 3]);
  assert.deepEqual(forced, [1]);
  assert.ok(all.every((x) => x !== undefined));
  listElems(all);
  assert.equal(made.length, 4);
  // A plain list is returned untouched.
  const plain: Lazy[] = [1, 2];
  assert.equal(listElems(plain), plain);
});

test('a cell forced while being forced is infinite recursion; a failed cell can be forced again', () => {
  let xs: Lazy[] = [];
  let fail = true;
  xs = mkGenList(2, (i) => new Thunk(() => {
    if (i === 0) return forceListElem(xs, 0);
    if (fail) throw new EvalError(EvalErrorCode.E_EVAL, 'first try fails', null);
    return 7;
  }, null));
  assert.throws(() => forceListElem(xs, 0), /infinite recursion encountered/);
  assert.throws(() => forceListElem(xs, 1), /first try fails/);
  fail = false;
  assert.equal(forceListElem(xs, 1), 7);
});

test('an empty generated list is a plain empty list', () => {
  const xs = mkGenList(0, () => { throw new Error('never'); });
  assert.deepEqual(xs, []);
});

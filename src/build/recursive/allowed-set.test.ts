/** Beyond 2.8 (issue 8 §6.3): allowed only after materialisation, one materialisation per path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashBytes, StoreDir, type StorePath } from '../../formats/index.js';
import { AllowedSet } from './allowed-set.js';

const sd = new StoreDir('/tix-test/store');
const path = (n: string): StorePath => sd.makeTextPath(n, hashBytes('sha256', n), []);

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('a path is not allowed while its materialisation is in flight', async () => {
  const gate = deferred();
  const set = new AllowedSet([], () => gate.promise);
  const p = path('a');
  const done = set.allow(p);
  assert.equal(set.isAllowed(p), false);
  assert.equal(set.all().length, 0);
  gate.resolve();
  await done;
  assert.equal(set.isAllowed(p), true);
});

test('concurrent adds of one path share one materialisation', async () => {
  const gate = deferred();
  let calls = 0;
  const set = new AllowedSet([], () => {
    calls++;
    return gate.promise;
  });
  const p = path('b');
  const waits = Array.from({ length: 20 }, () => set.allow(p));
  gate.resolve();
  await Promise.all(waits);
  assert.equal(calls, 1);
  await set.allow(p);
  assert.equal(calls, 1, 'an allowed path is not materialised again');
});

test('a failed materialisation leaves the path unallowed (2.8 allowed it on the second try)', async () => {
  let fail = true;
  let calls = 0;
  const set = new AllowedSet([], async (p) => {
    calls++;
    if (fail) throw new Error(`store path '${sd.print(p)}' already exists in the sandbox`);
  });
  const p = path('c');
  const all = await Promise.allSettled([set.allow(p), set.allow(p)]);
  assert.deepEqual(all.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(calls, 1);
  assert.equal(set.isAllowed(p), false);
  await assert.rejects(() => set.allow(p), /already exists in the sandbox/);
  assert.equal(set.isAllowed(p), false, 'asking again does not allow it');
  fail = false;
  await set.allow(p);
  assert.equal(set.isAllowed(p), true);
});

test('inputs are allowed without materialisation; closed sets refuse additions', async () => {
  let calls = 0;
  const i = path('input');
  const set = new AllowedSet([i], async () => {
    calls++;
  });
  await set.allow(i);
  assert.equal(calls, 0);
  assert.equal(set.isInput(i), true);
  await set.close();
  await assert.rejects(() => set.allow(path('late')), /enclosing build has finished/);
});

test('allowAll attempts every path and rethrows the first failure', async () => {
  const bad = path('bad');
  const set = new AllowedSet([], async (p) => {
    if (p.equals(bad)) throw new Error('could not add');
  });
  const good = [path('g1'), path('g2')];
  await assert.rejects(() => set.allowAll([good[0]!, bad, good[1]!]), /could not add/);
  assert.ok(good.every((p) => set.isAllowed(p)));
  assert.equal(set.isAllowed(bad), false);
});

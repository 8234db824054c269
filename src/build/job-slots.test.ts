import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobSlots } from './job-slots.js';

test('job slots: waiters ready in the same turn are served by key, not arrival', async () => {
  const slots = new JobSlots(1);
  const order: string[] = [];
  const run = async (key: string): Promise<void> => {
    await slots.acquire(undefined, key);
    order.push(key);
    await new Promise((r) => setImmediate(r));
    slots.release();
  };
  await Promise.all(['leaf-4', 'leaf-10', 'leaf-1', 'leaf-2', 'leaf-0'].map(run));
  assert.deepEqual(order, ['leaf-0', 'leaf-1', 'leaf-10', 'leaf-2', 'leaf-4']);
});

test('job slots: never more than max at once; lending adds one', async () => {
  const slots = new JobSlots(2);
  let running = 0;
  let peak = 0;
  const run = async (i: number): Promise<void> => {
    await slots.acquire(undefined, String(i));
    peak = Math.max(peak, ++running);
    await new Promise((r) => setTimeout(r, 2));
    running--;
    slots.release();
  };
  await Promise.all([0, 1, 2, 3, 4, 5].map(run));
  assert.equal(peak, 2);
  const giveBack = slots.lend();
  peak = 0;
  await Promise.all([0, 1, 2, 3, 4, 5].map(run));
  giveBack();
  assert.equal(peak, 3);
});

test('job slots: an aborted waiter is dropped', async () => {
  const slots = new JobSlots(1);
  await slots.acquire(undefined, 'a');
  const ac = new AbortController();
  const waiting = slots.acquire(ac.signal, 'b');
  ac.abort();
  await assert.rejects(waiting);
  slots.release();
  await slots.acquire(undefined, 'c');
});

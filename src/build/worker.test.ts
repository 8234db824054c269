import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitStatusOf, parseMaxJobs } from './worker.js';
import { JobSlots } from './job-slots.js';

test('exit status bitmask (Worker::exitStatus)', () => {
  const f = { permanentFailure: false, timedOut: false, hashMismatch: false, checkMismatch: false };
  const cases: Array<[Partial<typeof f>, number]> = [
    [{}, 1],
    [{ permanentFailure: true }, 100],
    [{ timedOut: true }, 101],
    [{ hashMismatch: true }, 102],
    [{ timedOut: true, hashMismatch: true }, 103],
    [{ checkMismatch: true }, 104],
    [{ permanentFailure: true, checkMismatch: true }, 108],
  ];
  for (const [flags, want] of cases) assert.equal(exitStatusOf({ ...f, ...flags }), want, JSON.stringify(flags));
});

test('max-jobs parsing', () => {
  assert.equal(parseMaxJobs(undefined), 1);
  assert.equal(parseMaxJobs('4'), 4);
  assert.ok(parseMaxJobs('auto') >= 1);
  assert.throws(() => parseMaxJobs('x'));
});

test('job slots: queueing, lending, cancellation', async () => {
  const s = new JobSlots(1);
  await s.acquire();
  let second = false;
  const p = s.acquire().then(() => (second = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, false, 'waits for a free slot');
  const giveBack = s.lend();
  await p;
  assert.equal(second, true, 'a lent slot lets it run');
  giveBack();
  const ac = new AbortController();
  const third = s.acquire(ac.signal);
  ac.abort();
  await assert.rejects(third, /cancelled/);
  s.release();
  s.release();
  await s.acquire();
});

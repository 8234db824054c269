import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { PathLocks, tryLockFile, lockFile } from './locks.js';

/** Can another process (flock(1)) take the lock right now? */
function otherCanLock(path: string, shared: boolean): boolean {
  const r = spawnSync('flock', [shared ? '-s' : '-x', '-n', path, 'true']);
  return r.status === 0;
}

test('locks are real flock(2) locks, visible to other processes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-locks-'));
  try {
    const f = join(dir, 'big-lock');
    const sh = await lockFile(f, 'read');
    assert.equal(otherCanLock(f, true), true, 'shared + shared');
    assert.equal(otherCanLock(f, false), false, 'shared blocks exclusive');
    assert.equal(await tryLockFile(f, 'write'), undefined, 'our own exclusive attempt fails too (separate open file)');
    await sh.release();
    assert.equal(otherCanLock(f, false), true, 'released');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PathLocks: exclusive, sorted, deleted and marked stale on unlock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-locks-'));
  try {
    const a = join(dir, 'aaa');
    const b = join(dir, 'bbb');
    const pl = await PathLocks.lock([b, a, b]);
    assert.equal(otherCanLock(`${a}.lock`, false), false);
    assert.equal(otherCanLock(`${b}.lock`, false), false);
    let second = false;
    const waiter = PathLocks.lock([a]).then((l) => {
      second = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(second, false, 'a second locker waits');
    await pl.unlock();
    const l2 = await waiter;
    assert.equal(second, true);
    // The waiter got a fresh, empty lock file (the old one was deleted, marked `d`).
    assert.equal(readFileSync(`${a}.lock`).length, 0);
    await l2.unlock();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(existsSync(`${a}.lock`), false);
    assert.equal(existsSync(`${b}.lock`), false);
  } finally {
    spawnSync('true');
    rmSync(dir, { recursive: true, force: true });
  }
});

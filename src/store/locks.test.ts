import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { PathLockGroup, PathLockRun, PathLocks, tryLockFile, lockFile } from './locks.js';

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

test('PathLockGroup: each name is a held lock on one file; busy or leftover names are refused; release leaves waiters a stale file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-locks-'));
  try {
    const [a, b, c, d] = ['aaa', 'bbb', 'ccc', 'ddd'].map((n) => join(dir, n)) as [string, string, string, string];
    writeFileSync(`${c}.lock`, ''); // a leftover (or someone else's) lock file
    const g = new PathLockGroup();
    assert.equal(g.tryAdd(a), true);
    assert.equal(g.tryAdd(b), true);
    assert.equal(g.tryAdd(c), false, 'an existing lock file is not taken over');
    assert.equal(g.tryAdd(d), true);
    assert.equal(statSync(`${a}.lock`).ino, statSync(`${d}.lock`).ino);
    for (const p of [a, b, d]) assert.equal(otherCanLock(`${p}.lock`, false), false, `${p} is locked for other processes`);
    assert.equal(otherCanLock(`${c}.lock`, false), true, 'the refused one is not');
    assert.equal(PathLocks.tryLockSync(b), undefined, 'and for another locker in this process');
    let got = false;
    const waiter = PathLocks.lock([b]).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got, false, 'a waiter waits');
    g.releaseSync();
    const l = await waiter;
    // The waiter retried past the stale (deleted, `d`-marked) file onto a fresh one.
    assert.equal(readFileSync(`${b}.lock`).length, 0);
    assert.notEqual(statSync(`${b}.lock`).ino, statSync(`${c}.lock`).ino);
    assert.equal(existsSync(`${a}.lock`), false);
    assert.equal(existsSync(`${d}.lock`), false);
    l.unlockSync();
    // A group whose first name is held elsewhere takes nothing.
    const other = PathLocks.tryLockSync(a)!;
    const g2 = new PathLockGroup();
    assert.equal(g2.tryAdd(a), false);
    assert.equal(g2.size, 0);
    other.unlockSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PathLockRun: names held until the run ends (timer, cap, release), then deleted and stale for waiters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-locks-'));
  try {
    const [a, b, c, d] = ['aaa', 'bbb', 'ccc', 'ddd'].map((n) => join(dir, n)) as [string, string, string, string];
    // Ended by its timer.
    const run = new PathLockRun(20, 3);
    assert.equal(run.tryLockSync(a), true);
    assert.equal(run.tryLockSync(b), true);
    assert.equal(otherCanLock(`${b}.lock`, false), false, 'held for other processes after the caller is done');
    let got = false;
    const waiter = PathLocks.lock([b]).then((l) => {
      got = true;
      return l;
    });
    assert.equal(run.tryLockSync(b), false, 'a name of the run is not taken twice');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, true, 'the timer ended the run');
    const l = await waiter;
    assert.equal(existsSync(`${a}.lock`), false);
    assert.equal(readFileSync(`${b}.lock`).length, 0, 'the waiter retried onto a fresh file');
    l.unlockSync();
    // Ended by its cap: the fourth lock starts a new run.
    assert.equal(run.tryLockSync(a), true);
    assert.equal(run.tryLockSync(b), true);
    assert.equal(run.tryLockSync(c), true);
    assert.equal(run.tryLockSync(d), true);
    assert.equal(existsSync(`${a}.lock`), false, 'the full run was ended');
    assert.equal(otherCanLock(`${d}.lock`, false), false);
    // releaseIfHeld ends the run holding the path, so an ordinary lock in this process gets it.
    run.releaseIfHeld(d);
    assert.equal(existsSync(`${d}.lock`), false);
    const o = PathLocks.tryLockSync(d);
    assert.notEqual(o, undefined);
    assert.equal(run.tryLockSync(d), false, 'a name someone holds is refused');
    o!.unlockSync();
    run.releaseSync();
    assert.equal(otherCanLock(`${d}.lock`, false), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { lockFile } from './locks.js';
import { appendTempRootSync, closeGcLockFd, releaseGcLockHold } from './temp-root-append.js';

/** Can another process (flock(1)) take the lock right now? */
function otherCanLock(path: string, shared: boolean): boolean {
  return spawnSync('flock', [shared ? '-s' : '-x', '-n', path, 'true']).status === 0;
}

test('temp roots: gc.lock stays shared for a moment after an append (timer, cap, release), never against a collector', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-locks-'));
  const gc = join(dir, 'gc.lock');
  try {
    const roots = await lockFile(join(dir, 'temproots'), 'read');
    assert.equal(appendTempRootSync(roots, gc, '/s/a'), true);
    assert.equal(otherCanLock(gc, false), false, 'a collector cannot start right after an append');
    assert.equal(otherCanLock(gc, true), true, 'shared lockers can');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(otherCanLock(gc, false), true, 'the timer let it go');
    for (let i = 0; i < 70; i++) assert.equal(appendTempRootSync(roots, gc, `/s/n${i}`), true);
    releaseGcLockHold(gc);
    assert.equal(otherCanLock(gc, false), true, 'released');
    // A collector holding it: the append says so, and writes nothing.
    const collector = await lockFile(gc, 'write');
    assert.equal(appendTempRootSync(roots, gc, '/s/b'), false);
    collector.releaseSync();
    assert.equal(appendTempRootSync(roots, gc, '/s/c'), true);
    closeGcLockFd(gc);
    assert.equal(otherCanLock(gc, false), true, 'closing the fd drops the hold');
    assert.deepEqual(readFileSync(join(dir, 'temproots'), 'utf8').split('\0').filter((e) => e !== '').length, 72);
    roots.releaseSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

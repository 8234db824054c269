import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { warmUpBuild } from './nix-build.js';

/** Above any Linux pid_max (2^22): no such process. */
const DEAD_PID = 99_999_999;

test('warmUpBuild builds in its own temporary store and leaves nothing behind', async () => {
  const outer = mkdtempSync(join(tmpdir(), 'tix-warm-test-'));
  const saved = { ...process.env };
  try {
    // The process's own Nix dirs point nowhere writable: the warm-up must not use them.
    Object.assign(process.env, { TMPDIR: outer, NIX_STORE_DIR: '/proc/nonexistent/store', NIX_STATE_DIR: '/proc/nonexistent/var', NIX_CONF_DIR: '/proc/nonexistent/etc' });
    assert.equal(await warmUpBuild(outer), true);
    assert.deepEqual(readdirSync(outer), []);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    rmSync(outer, { recursive: true, force: true });
  }
});

test('warmUpBuild removes the dirs of killed warm-ups, and only those', async () => {
  const outer = mkdtempSync(join(tmpdir(), 'tix-warm-test-'));
  try {
    const stale = join(outer, `tix-warm-build-${DEAD_PID}-abc123`);
    mkdirSync(join(stale, 'store', 'x'), { recursive: true });
    writeFileSync(join(stale, 'store', 'x', 'f'), '');
    chmodSync(join(stale, 'store', 'x'), 0o555); // read-only, as store paths are
    const keep = [`tix-warm-build-${process.ppid}-live`, 'tix-warm-build-nopid', 'other'];
    for (const k of keep) mkdirSync(join(outer, k));
    if (process.getuid?.() === 0) {
      // Another user's: its contents are not ours to chmod, whatever its pid.
      const foreign = `tix-warm-build-${DEAD_PID}-foreign`;
      mkdirSync(join(outer, foreign));
      chownSync(join(outer, foreign), 65534, 65534);
      keep.push(foreign);
    }
    assert.equal(await warmUpBuild(outer), true);
    assert.deepEqual(readdirSync(outer).sort(), [...keep].sort());
  } finally {
    rmSync(outer, { recursive: true, force: true });
  }
});

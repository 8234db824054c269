import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { warmUpBuild } from './nix-build.js';

test('warmUpBuild builds in its own temporary store and leaves nothing behind', async () => {
  const outer = mkdtempSync(join(tmpdir(), 'tix-warm-test-'));
  const saved = { ...process.env };
  try {
    // The process's own Nix dirs point nowhere writable: the warm-up must not use them.
    Object.assign(process.env, { TMPDIR: outer, NIX_STORE_DIR: '/proc/nonexistent/store', NIX_STATE_DIR: '/proc/nonexistent/var', NIX_CONF_DIR: '/proc/nonexistent/etc' });
    assert.equal(await warmUpBuild(), true);
    assert.deepEqual(readdirSync(outer), []);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    rmSync(outer, { recursive: true, force: true });
  }
});

/** The daemon's warm-up (warm-up.ts): it really drives the store it is given, within its bounds, and leaves nothing behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../core/index.js';
import { MemoryStore } from './testing/memory-store.js';
import { allConnections } from './worker/server.js';
import { warmUpDaemon } from './warm-up.js';

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tix-warm-up-test-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('warmUpDaemon: rounds add valid paths to the throwaway store, up to maxRounds', () =>
  withDir(async (dir) => {
    const store = new MemoryStore('/nix/store');
    const rounds = await warmUpDaemon({ store, socketDir: dir, settings: new Settings(), budgetMs: 60_000, maxRounds: 20 });
    assert.equal(rounds, 20);
    const valid = await store.queryAllValidPaths();
    // 20 NARs and one text file every 16 rounds (rounds 0 and 16).
    assert.equal(valid.length, 22);
    for (const p of valid) assert.ok(p.name.startsWith('warm-up-'), p.name);
    assert.deepEqual(readdirSync(dir), [], 'socket removed');
    assert.equal(allConnections.size, 0, 'no connection left open');
  }));

test('warmUpDaemon: a budget of 0 runs nothing; a failing store only ends the warm-up', () =>
  withDir(async (dir) => {
    assert.equal(await warmUpDaemon({ store: new MemoryStore('/nix/store'), socketDir: dir, settings: new Settings(), budgetMs: 0 }), 0);
    const broken = new MemoryStore('/nix/store');
    broken.addToStoreNar = () => Promise.reject(new Error('disk full'));
    assert.equal(await warmUpDaemon({ store: broken, socketDir: dir, settings: new Settings(), budgetMs: 60_000, maxRounds: 5 }), 0);
    assert.equal(existsSync(join(dir, 'socket')), false);
  }));

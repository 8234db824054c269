import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { StoreDb } from './db.js';
import { tryLockFileSync } from '../locks.js';

const LOCAL_STORE = new URL('./local-store.js', import.meta.url).href;

/** A child process that opens (creating) the store at `dir` and closes it. */
function opener(dir: string): Promise<{ code: number | null; out: string }> {
  const script = `import { LocalStore } from ${JSON.stringify(LOCAL_STORE)};
const s = LocalStore.open({ storeDir: ${JSON.stringify(join(dir, 'store'))}, stateDir: ${JSON.stringify(join(dir, 'var'))} });
await s.close();`;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A smoke test: without the big-lock around creation, 3 openers of a fresh
// store failed with "database is locked" in about 1 round of 40 (too rare to
// catch here reliably; the two tests below check the lock deterministically).
test('processes opening one fresh store at once all succeed, and it is set up once', async () => {
  for (let round = 0; round < 4; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'tix-db-open-'));
    try {
      const results = await Promise.all([0, 1, 2, 3, 4].map(() => opener(dir)));
      for (const r of results) assert.equal(r.code, 0, r.out);
      assert.equal(readFileSync(join(dir, 'var', 'db', 'schema'), 'utf8'), '10');
      const db = StoreDb.open(join(dir, 'var', 'db'));
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a fresh store is set up only under big-lock held exclusively', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-db-open-'));
  try {
    mkdirSync(join(dir, 'var', 'db'), { recursive: true });
    const held = tryLockFileSync(join(dir, 'var', 'db', 'big-lock'), 'read')!;
    const child = opener(dir);
    await sleep(400);
    assert.equal(existsSync(join(dir, 'var', 'db', 'schema')), false, 'set up while another process held big-lock');
    held.releaseSync();
    const r = await child;
    assert.equal(r.code, 0, r.out);
    assert.equal(readFileSync(join(dir, 'var', 'db', 'schema'), 'utf8'), '10');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an opener waiting to set up a store stops waiting once another has set it up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-db-open-'));
  const other = mkdtempSync(join(tmpdir(), 'tix-db-open-'));
  try {
    const dbDir = join(dir, 'var', 'db');
    mkdirSync(dbDir, { recursive: true });
    // Held shared for good, as a process with temp roots holds it.
    const held = tryLockFileSync(join(dbDir, 'big-lock'), 'read')!;
    const child = opener(dir);
    await sleep(200);
    StoreDb.open(join(other, 'db')).close();
    copyFileSync(join(other, 'db', 'db.sqlite'), join(dbDir, 'db.sqlite'));
    copyFileSync(join(other, 'db', 'schema'), join(dbDir, 'schema'));
    const r = await child;
    held.releaseSync();
    assert.equal(r.code, 0, r.out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});

test('a read-only open of a store without a database fails with a Nix error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-db-open-'));
  try {
    assert.throws(() => StoreDb.open(join(dir, 'db'), { readOnly: true }), /cannot open Nix database/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Crash safety and concurrency of the local store (issue 3 acceptance).
 *
 * Crash: `nix-store --add` of large trees is SIGKILLed at pseudo-random
 * points (fixed seed); afterwards both tix's and the reference's
 * `nix-store --verify --check-contents` must find nothing wrong, and a GC
 * must leave a consistent store. CI runs TIX_CRASH_ADDS (default 40) adds;
 * the full acceptance run uses TIX_CRASH_ADDS=200.
 *
 * Concurrency: several processes add overlapping sets of paths and root them
 * while collectors (tix and the reference, alternately) run; nothing rooted
 * is lost, nothing is registered twice, and both verifiers are clean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { haveReference, makeRoot, runRef, runTix, REPO_ROOT, TIX_BIN, type NixRoot } from '../harness/index.js';
import { mulberry32 } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

const prng = mulberry32;

/** A tree of `files` files of `size` bytes each, content derived from `seed`. */
function makeLargeTree(dir: string, seed: number, files: number, size: number): void {
  mkdirSync(join(dir, 'd'), { recursive: true });
  const rnd = prng(seed);
  for (let i = 0; i < files; i++) {
    const buf = Buffer.alloc(size);
    for (let j = 0; j < size; j += 4) buf.writeUInt32LE((rnd() * 0xffffffff) >>> 0, j);
    writeFileSync(join(dir, i % 2 ? 'd' : '.', `f${i}`), buf);
  }
}

function runKilled(root: NixRoot, args: string[], killAfterMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    // TIX_SERVER=0: a pooled job dies only after its client, and the store is inspected at once.
    const p = spawn(join(TIX_BIN, 'nix-store'), args, { env: { ...root.env, TIX_SERVER: '0' }, cwd: root.dir, stdio: 'ignore' });
    const t = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

function verifyBoth(root: NixRoot, what: string): void {
  for (const [name, run] of [['tix', runTix], ['reference', runRef]] as const) {
    const v = run(root, 'nix-store', ['--verify', '--check-contents']);
    assert.equal(v.status, 0, `${name} verify after ${what}: ${v.stderr}`);
    assert.doesNotMatch(v.stderr, /modified|disappeared|not in the Nix store|error/, `${name} verify after ${what}`);
  }
}

test('SIGKILL at random points during large adds leaves a consistent store', { skip, timeout: 900_000 }, async () => {
  const adds = Number(process.env.TIX_CRASH_ADDS ?? 40);
  const root = makeRoot();
  try {
    const rnd = prng(20261130);
    // Measure one uninterrupted add to spread kill points over its duration.
    makeLargeTree(join(root.dir, 'probe'), 1, 8, 512 * 1024);
    const t0 = Date.now();
    assert.equal(runTix(root, 'nix-store', ['--add', 'probe']).status, 0);
    const span = Math.max(50, (Date.now() - t0) * 1.3);
    let killed = 0;
    let completed = 0;
    for (let i = 0; i < adds; i++) {
      const dir = join(root.dir, `tree${i % 8}`);
      if (!existsSync(dir)) makeLargeTree(dir, 100 + i, 8, 512 * 1024);
      // Vary the content so most adds are new paths.
      writeFileSync(join(dir, 'round'), String(i));
      const code = await runKilled(root, ['--add', dir], Math.floor(rnd() * span));
      if (code === 0) completed++;
      else killed++;
    }
    assert.ok(killed > 0, 'some adds were killed');
    verifyBoth(root, `${adds} adds (${killed} killed, ${completed} completed)`);
    // No temp entry is ever a registered path; GC removes the leftovers.
    assert.equal(runTix(root, 'nix-store', ['--gc']).status, 0);
    assert.deepEqual(readdirSync(root.storeDir).filter((n) => n !== '.links'), []);
    verifyBoth(root, 'gc');
    process.stderr.write(`# crash test: ${adds} adds, ${killed} killed, ${completed} completed\n`);
  } finally {
    root.cleanup();
  }
});

function spawnOut(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, cwd });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('concurrent adders and collectors lose nothing and register nothing twice', { skip, timeout: 600_000 }, async () => {
  const root = makeRoot();
  try {
    const files: string[] = [];
    for (let i = 0; i < 12; i++) {
      const f = join(root.dir, `c${i}`);
      makeLargeTree(f, 500 + i, 3, 64 * 1024);
      files.push(f);
    }
    const rootsDir = join(root.dir, 'roots');
    mkdirSync(rootsDir);
    const worker = join(REPO_ROOT, 'dist', 'test', 'differential', 'store-worker.js');
    const adders = [0, 1, 2, 3].map((k) => {
      // Overlapping sets: every file is added by two or more processes.
      const mine = files.filter((_, i) => i % 4 !== k);
      return spawnOut(process.execPath, [worker, 'add-and-root', rootsDir, ...mine], root.env, root.dir);
    });
    const collectors = [
      spawnOut(process.execPath, [worker, 'gc-loop', '6'], root.env, root.dir),
      (async () => {
        const out = [];
        for (let i = 0; i < 4; i++) out.push(await spawnOut('/usr/bin/nix-store', ['--gc'], root.env, root.dir));
        return out[out.length - 1]!;
      })(),
    ];
    const results = await Promise.all([...adders, ...collectors]);
    for (const r of results) assert.equal(r.code, 0, r.err);
    const added = new Set(adders.length ? (await Promise.all(adders)).flatMap((r) => r.out.trim().split('\n')) : []);
    assert.equal(added.size, files.length, 'every file maps to one path');
    for (const p of added) assert.ok(existsSync(p), `rooted path ${p} survived`);
    // One more collection by each side: rooted paths stay, nothing else does.
    assert.equal(runRef(root, 'nix-store', ['--gc']).status, 0);
    assert.equal(runTix(root, 'nix-store', ['--gc']).status, 0);
    const valid = runTix(root, 'nix-store', ['--dump-db']).stdout.split('\n').filter((l) => l.startsWith(root.storeDir + '/'));
    assert.deepEqual([...valid].sort(), [...added].sort());
    const db = join(root.stateDir, 'db', 'db.sqlite');
    const counts = execFileSync('sqlite3', [db, 'select count(*), count(distinct path) from ValidPaths']).toString().trim();
    assert.equal(counts, `${files.length}|${files.length}`);
    verifyBoth(root, 'concurrent adds and collections');
  } finally {
    root.cleanup();
  }
});

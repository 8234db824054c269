/**
 * Batched text adds (`addTextsToStore`, an evaluation's deferred
 * `builtins.toFile` and `.drv` writes): crash safety and concurrency, as
 * store-crash.test.ts checks them for single adds.
 *
 * Crash: batch adders are SIGKILLed at pseudo-random points (fixed seed);
 * both verifiers then find every registered path complete, and no file
 * under a final name holds partial contents, registered or not.
 *
 * Concurrency: adders of the same texts in different orders (so their
 * chunks lock overlapping paths in different orders) run beside tix's and
 * the reference's collectors: none deadlocks, each finds every path it was
 * given valid with its contents, nothing is registered twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { haveReference, makeRoot, runRef, runTix, REPO_ROOT, mulberry32, type NixRoot } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;
const WORKER = join(REPO_ROOT, 'dist', 'test', 'differential', 'store-worker.js');

function worker(root: NixRoot, args: string[], killAfterMs?: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [WORKER, ...args], { env: root.env, cwd: root.dir });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
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

/** Every text file under a final name, registered or not, is complete. */
function noPartialTexts(root: NixRoot): number {
  let n = 0;
  for (const name of readdirSync(root.storeDir)) {
    const m = /^[0-9a-z]{32}-text(\d+)$/.exec(name);
    if (m === null) continue;
    assert.match(readFileSync(join(root.storeDir, name), 'utf8'), new RegExp(`^shared text ${m[1]} \\S+\\n$`), name);
    n++;
  }
  return n;
}

test('SIGKILL at random points during batched text adds leaves no partial or unbacked path', { skip, timeout: 600_000 }, async () => {
  const rounds = Number(process.env.TIX_CRASH_TEXT_ROUNDS ?? 12);
  const n = 2000;
  const root = makeRoot();
  try {
    const rnd = mulberry32(20261201);
    const t0 = Date.now();
    const probe = await worker(root, ['add-texts', String(n), 'forward', '0', 'probe']);
    assert.equal(probe.code, 0, probe.err);
    const span = (Date.now() - t0) * 1.2;
    let killed = 0;
    for (let i = 0; i < rounds; i++) {
      const r = await worker(root, ['add-texts', String(n), i % 2 ? 'shuffled' : 'forward', String(i), String(i)], Math.floor(rnd() * span));
      if (r.code !== 0) killed++;
      else assert.equal(r.out, `ok ${n}\n`);
    }
    assert.ok(killed > 0, 'some batches were killed');
    assert.ok(noPartialTexts(root) > n, 'the store holds what was added');
    verifyBoth(root, `${rounds} batches (${killed} killed)`);
    assert.equal(runTix(root, 'nix-store', ['--gc']).status, 0);
    assert.equal(noPartialTexts(root), 0);
    verifyBoth(root, 'gc');
  } finally {
    root.cleanup();
  }
});

test('concurrent batched adders of the same texts in different orders, beside collectors, neither deadlock nor lose a path', { skip, timeout: 600_000 }, async () => {
  const root = makeRoot();
  try {
    const n = 1200;
    const adders = (['forward', 'reverse', 'shuffled', 'shuffled'] as const).map((order, k) => worker(root, ['add-texts', String(n), order, String(k), 'c']));
    const collectors = [
      worker(root, ['gc-loop', '4']),
      (async () => {
        for (let i = 0; i < 3; i++) {
          const r = runRef(root, 'nix-store', ['--gc']);
          if (r.status !== 0) return { code: r.status, out: r.stdout, err: r.stderr };
          await new Promise((res) => setTimeout(res, 50));
        }
        return { code: 0, out: '', err: '' };
      })(),
    ];
    for (const r of await Promise.all(adders)) assert.deepEqual([r.code, r.out], [0, `ok ${n}\n`], r.err);
    for (const r of await Promise.all(collectors)) assert.equal(r.code, 0, r.err);
    const db = join(root.stateDir, 'db', 'db.sqlite');
    const [count, distinct] = execFileSync('sqlite3', [db, 'select count(*), count(distinct path) from ValidPaths']).toString().trim().split('|');
    assert.equal(count, distinct);
    noPartialTexts(root);
    verifyBoth(root, 'concurrent batches and collections');
  } finally {
    root.cleanup();
  }
});

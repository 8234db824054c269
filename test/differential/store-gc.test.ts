/**
 * Garbage collection against paths in flight (issue 3): every path a live
 * process added is a temp root for it (Nix's LocalStore `addTempRoot` in
 * `addToStore`, `addTextToStore`, `addToStoreNar`), so neither tix's GC nor
 * the reference's deletes a `.drv` that a running nix-build just wrote; a
 * half-written add survives a collection; and tix's GC leaves entries of
 * the store dir that are not store paths (`.tix-sandbox`) alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { haveReference, makeRoot, runRef, runTix, type NixRoot, ok } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;
const WORKER = fileURLToPath(new URL('./store-worker.js', import.meta.url));

interface Worker {
  proc: ChildProcessWithoutNullStreams;
  /** Resolves with the first `n` lines the worker prints. */
  lines(n: number): Promise<string[]>;
  /** Close its stdin (it finishes) and wait for its exit status. */
  finish(): Promise<number | null>;
  /** Kill it if still running (after a failed assertion: never leave it waiting). */
  kill(): void;
}

function startWorker(root: NixRoot, args: string[]): Worker {
  const proc = spawn(process.execPath, [WORKER, ...args], { env: root.env, cwd: root.dir, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  proc.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => {
    for (const w of waiters.splice(0)) w();
    r(c);
  }));
  return {
    proc,
    lines: (n) => new Promise((resolve, reject) => {
      const check = (): void => {
        const ls = out.split('\n');
        if (ls.length > n) resolve(ls.slice(0, n));
        else if (proc.exitCode !== null) reject(new Error(`worker exited early (${proc.exitCode}): ${err}`));
        else waiters.push(check);
      };
      check();
    }),
    finish: async () => {
      proc.stdin.end();
      const c = await exited;
      assert.equal(c, 0, `worker failed: ${err}`);
      return c;
    },
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

const collectors = [['tix', runTix], ['reference', runRef]] as const;

test('paths added by a live process (text .drv, addToStore, addToStoreNar) survive GC by tix and the reference', { skip, timeout: 120_000 }, async () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'held'), 'Derive([],[],[],"x86_64-linux","/bin/sh",[],[])');
    const w = startWorker(root, ['hold', join(root.dir, 'held')]);
    try {
      const paths = await w.lines(3);
      assert.match(paths[0]!, /-held\.drv$/);
      // Both list the live adder's temp roots (valid or not), and agree on live and dead.
      for (const flag of ['--print-roots', '--print-live', '--print-dead']) {
        const r = ok(runRef(root, 'nix-store', ['--gc', flag]), `ref ${flag}`);
        assert.equal(ok(runTix(root, 'nix-store', ['--gc', flag]), `tix ${flag}`), r, flag);
        if (flag === '--print-roots') for (const p of paths) assert.ok(r.includes(`} -> ${p}\n`), `${p} is a temp root`);
      }
      for (const [name, run] of collectors) {
        ok(run(root, 'nix-store', ['--gc']), `${name} gc`);
        for (const p of paths) {
          assert.ok(existsSync(p), `${name} GC kept ${p}`);
          assert.equal(ok(runRef(root, 'nix-store', ['--check-validity', '--print-invalid', p]), 'check'), '', `${p} still valid after ${name} GC`);
        }
      }
      await w.finish();
      // Once the adder is gone its temp roots go too: the same paths are garbage.
      ok(runTix(root, 'nix-store', ['--gc']), 'tix gc after exit');
      for (const p of paths) assert.ok(!existsSync(p), `${p} collected once its adder exited`);
    } finally {
      w.kill();
    }
  } finally {
    root.cleanup();
  }
});

test('an add in progress survives GC by tix and the reference, then completes valid', { skip, timeout: 120_000 }, async () => {
  const root = makeRoot();
  try {
    const data = Buffer.alloc(1 << 20, 7);
    writeFileSync(join(root.dir, 'slow'), data);
    const w = startWorker(root, ['slow-add', join(root.dir, 'slow')]);
    const temps = (): string[] => readdirSync(root.storeDir).filter((n) => n.includes('-tix-tmp-'));
    let path: string;
    try {
      await w.lines(1);
      assert.equal(temps().length, 1, 'the half-written add sits under a temp name');
      for (const [name, run] of collectors) {
        ok(run(root, 'nix-store', ['--gc']), `${name} gc`);
        assert.equal(temps().length, 1, `${name} GC kept the temp entry of the add in progress`);
      }
      const done = w.lines(2);
      await w.finish();
      path = (await done)[1]!;
    } finally {
      w.kill();
    }
    assert.deepEqual(readFileSync(path), data);
    assert.deepEqual(temps(), []);
    const v = runRef(root, 'nix-store', ['--verify', '--check-contents']);
    assert.equal(v.status, 0, v.stderr);
    assert.doesNotMatch(v.stderr, /modified|disappeared|error/);
  } finally {
    root.cleanup();
  }
});

test("tix's GC leaves non-store-path entries alone and removes a dead adder's temp entry", { skip }, () => {
  const root = makeRoot();
  try {
    ok(runTix(root, 'nix-store', ['--init']), 'init');
    const view = join(root.storeDir, '.tix-sandbox', 'build-1');
    mkdirSync(view, { recursive: true });
    writeFileSync(join(view, 'keep'), 'x');
    writeFileSync(join(root.storeDir, 'not a store path'), 'x');
    // A temp entry of a killed tix adder: its hash part is nobody's temp root.
    const stale = join(root.storeDir, '0c5s8ghyrhz2qgw4nmp6vk6d2nwgzfal-tix-tmp-999999-0');
    writeFileSync(stale, 'x');
    writeFileSync(join(root.dir, 'dead'), 'dead\n');
    const dead = ok(runTix(root, 'nix-store', ['--add', 'dead']), 'add').trim();
    const printed = ok(runTix(root, 'nix-store', ['--gc', '--print-dead']), 'print-dead').trim().split('\n').sort();
    assert.deepEqual(printed, [stale, dead].sort());
    ok(runTix(root, 'nix-store', ['--gc']), 'gc');
    assert.ok(existsSync(join(view, 'keep')), '.tix-sandbox kept');
    assert.ok(existsSync(join(root.storeDir, 'not a store path')), 'other non-store-path entry kept');
    assert.ok(!existsSync(stale), 'stale temp entry removed');
    assert.ok(!existsSync(dead), 'dead path removed');
  } finally {
    root.cleanup();
  }
});

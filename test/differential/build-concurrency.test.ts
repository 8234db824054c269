/**
 * Scheduler properties that need several processes or signals:
 * - two `nix-build`s started together on one graph build every output once
 *   (output path locks across processes) and both succeed with the same paths;
 * - a failed build leaves no registered output, no output path, no lock file
 *   and no build directory; with `--keep-failed` the build dir stays;
 * - a build interrupted with SIGTERM kills its builder and leaves no junk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TIX_BIN, haveReference, makeRoot, runRef, runTix, type NixRoot } from '../harness/index.js';
import { sameOnRoot } from '../harness/compare.js';

function graphNix(counter: string, n: number): string {
  return `let
  mk = name: deps: derivation { inherit name deps; system = "x86_64-linux"; builder = "/bin/bash";
    args = [ "-c" "echo \${name} >> ${counter}; /bin/sleep 0.05; echo \${name} $deps > $out" ]; };
  leaves = builtins.genList (i: mk "leaf-\${toString i}" [ ]) ${n};
  mids = builtins.genList (i: mk "mid-\${toString i}" (builtins.filter (x: true) [ (builtins.elemAt leaves i) (builtins.elemAt leaves (${n} - 1 - i)) ])) ${n};
in mk "root" mids
`;
}

function startTix(root: NixRoot, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(TIX_BIN, 'nix-build'), args, { env: { ...root.env, ...env }, cwd: root.dir });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

function storeJunk(root: NixRoot): string[] {
  return readdirSync(root.storeDir).filter((n) => !n.endsWith('.drv') && (n.endsWith('.lock') || n.includes('-fails') || n.includes('-slow')));
}

test('two concurrent nix-builds build each output once', { timeout: 120_000 }, async () => {
  const root = makeRoot();
  try {
    const counter = join(root.dir, 'built.txt');
    writeFileSync(join(root.dir, 'graph.nix'), graphNix(counter, 12));
    const args = ['graph.nix', '--no-out-link', '-j', '2'];
    const [a, b] = await Promise.all([startTix(root, args), startTix(root, args)]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(a.stdout, b.stdout);
    const names = readFileSync(counter, 'utf8').trim().split('\n');
    assert.equal(names.length, 25, 'every derivation built');
    assert.equal(new Set(names).size, names.length, `built twice: ${names.filter((n, i) => names.indexOf(n) !== i)}`);
    assert.deepEqual(storeJunk(root), []);
    if (haveReference()) assert.equal(runRef(root, 'nix-store', ['--verify', '--check-contents']).status, 0);
  } finally {
    root.cleanup();
  }
});

const FAILING = `derivation { name = "fails"; system = "x86_64-linux"; builder = "/bin/bash";
  args = [ "-c" "/bin/mkdir -p $out/sub; echo partial > $out/sub/f; echo oops; exit 7" ]; }`;

test('a failed build leaves no junk; --keep-failed keeps the build dir', { timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    const tmp = join(root.dir, 'tmp');
    mkdirSync(tmp);
    writeFileSync(join(root.dir, 'f.nix'), FAILING);
    const r = runTix(root, 'nix-build', ['f.nix', '--no-out-link'], { env: { TMPDIR: tmp } });
    assert.equal(r.status, 100, r.stderr);
    assert.match(r.stderr, /failed with exit code 7/);
    assert.deepEqual(readdirSync(tmp), []);
    assert.deepEqual(storeJunk(root), []);
    const q = runTix(root, 'nix-store', ['-q', '--hash', ...readdirSync(root.storeDir).filter((n) => n.endsWith('-fails')).map((n) => join(root.storeDir, n))]);
    assert.equal(q.stdout, '');
    const k = runTix(root, 'nix-build', ['f.nix', '--no-out-link', '-K'], { env: { TMPDIR: tmp } });
    assert.equal(k.status, 100);
    assert.match(k.stderr, /note: keeping build directory '.*nix-build-fails\.drv-0'/);
    assert.deepEqual(readdirSync(tmp), ['nix-build-fails.drv-0']);
    assert.deepEqual(storeJunk(root), []);
  } finally {
    root.cleanup();
  }
});

test('an interrupted build kills its builder and leaves no junk', { timeout: 60_000 }, async () => {
  const root = makeRoot();
  try {
    const tmp = join(root.dir, 'tmp');
    mkdirSync(tmp);
    const marker = join(root.dir, 'started');
    writeFileSync(join(root.dir, 's.nix'), `derivation { name = "slow"; system = "x86_64-linux"; builder = "/bin/bash";
      args = [ "-c" "/bin/mkdir $out; echo $$ > ${marker}; exec /bin/sleep 60" ]; }`);
    const p = spawn(join(TIX_BIN, 'nix-build'), ['s.nix', '--no-out-link'], { env: { ...root.env, TMPDIR: tmp }, cwd: root.dir });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number>((resolve) => p.on('close', (c) => resolve(c ?? -1)));
    for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(marker), 'builder started');
    const builderPid = Number(readFileSync(marker, 'utf8').trim());
    p.kill('SIGTERM');
    const status = await closed;
    assert.equal(status, 1, stderr);
    assert.match(stderr, /interrupted by the user/);
    assert.equal(spawnSync('kill', ['-0', String(builderPid)]).status !== 0, true, 'builder is gone');
    assert.deepEqual(readdirSync(tmp), []);
    assert.deepEqual(storeJunk(root), []);
  } finally {
    root.cleanup();
  }
});

test('a failing inner (recursive-nix) build does not cancel the outer build', { skip: !haveReference() ? 'no reference nix' : false, timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'rec.nix'), `derivation { name = "outer"; system = "x86_64-linux"; builder = "/bin/bash"; requiredSystemFeatures = [ "recursive-nix" ];
  args = [ "-c" ''
    export NIX_STORE_DIR=$NIX_STORE HOME=$TMPDIR
    /usr/bin/nix-build --no-out-link -E 'derivation { name = "innerfail"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "exit 1"]; }' && r=ok || r=failed
    /bin/sleep 0.3
    echo $r > $out
  '' ]; }`);
    const r = runTix(root, 'nix-build', ['rec.nix'], {});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(root.dir, 'result'), 'utf8'), 'failed\n');
  } finally {
    root.cleanup();
  }
});

test('max-log-size kills a chatty builder (2.8 does not enforce it for local builds)', { timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'c.nix'), `derivation { name = "chatty"; system = "x86_64-linux"; builder = "/bin/bash";
      args = [ "-c" "for i in 1 2 3 4 5 6 7 8 9 10; do echo 0123456789012345678901234567890123456789; /bin/sleep 0.05; done; echo > $out" ]; }`);
    const r = runTix(root, 'nix-build', ['c.nix', '--no-out-link', '--option', 'max-log-size', '100']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /killed after writing more than 100 bytes of log output/);
    assert.deepEqual(readdirSync(root.storeDir).filter((n) => n.includes('chatty') && !n.endsWith('.drv')), []);
  } finally {
    root.cleanup();
  }
});

test('max-build-log-size, or its alias build-max-log-size, kills a chatty builder as 2.8 does', { skip: !haveReference(), timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'c.nix'), `derivation { name = "chatty2"; system = "x86_64-linux"; builder = "/bin/bash";
      args = [ "-c" "for i in 1 2 3 4 5 6 7 8 9 10; do echo 0123456789012345678901234567890123456789; /bin/sleep 0.05; done; echo > $out" ]; }`);
    for (const name of ['max-build-log-size', 'build-max-log-size']) {
      const r = sameOnRoot(root, 'nix-build', ['c.nix', '--no-out-link', '--option', name, '100']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /killed after writing more than 100 bytes of log output/);
    }
  } finally {
    root.cleanup();
  }
});

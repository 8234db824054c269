/**
 * Builds with `sandbox = true` on tix and on the reference Nix 2.8 give the
 * same output paths and the same contents (NAR hashes). The derivations are
 * made by the reference's nix-instantiate in each root (same dir, so same
 * paths); one of them writes what the builder sees of its sandbox (ids,
 * hostname, `/`, the store listing, /etc files, env, uid_map, modes), so the
 * environments must match byte for byte, not just the build results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRoot, runRef, runTix, haveReference, REF_BIN, TIX_BIN, type NixRoot } from '../harness/index.js';
import { sandboxAvailability } from '../../src/build/sandbox/index.js';

const CONF = [
  'sandbox = true',
  'sandbox-fallback = false',
  'sandbox-paths = /bin/sh=/bin/bash /bin/bash /usr /lib /lib64',
].join('\n');

const sh = (script: string): string => JSON.stringify(`export PATH=/usr/bin; ${script}`);

/** name → Nix expression of the derivation(s) to build (a list is built as a whole). */
const CASES: Record<string, string> = {
  'sandbox environment as the builder sees it': `derivation {
    name = "probe"; system = builtins.currentSystem; builder = "/bin/sh";
    args = ["-c" ${sh(
      '{ id; hostname; echo pid=$$; ls -a /; ls -a "$NIX_STORE"; cat /etc/passwd /etc/group /etc/hosts; ls /etc; ' +
        'env | sort; cat /proc/self/uid_map /proc/self/gid_map; umask; ls /proc/self/fd; ' +
        'stat -c "%n %a %U %G" /build "$NIX_STORE" /tmp /etc /proc /dev/null; pwd; ls -a /build; } > $out 2>&1',
    )}];
  }`,
  'multiple outputs': `derivation {
    name = "multi"; system = builtins.currentSystem; builder = "/bin/sh"; outputs = [ "out" "dev" "doc" ];
    args = ["-c" ${sh('mkdir -p $out/bin $dev/include; echo main > $out/bin/x; echo hdr > $dev/include/x.h; echo "$out" > $doc')}];
  }`,
  'a dependency chain and its closure': `let
    a = derivation { name = "a"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" ${sh('mkdir $out; echo A > $out/a')}]; };
    b = derivation { name = "b"; system = builtins.currentSystem; builder = "/bin/sh"; inherit a;
      args = ["-c" ${sh('mkdir $out; cat $a/a > $out/b; echo B >> $out/b; ln -s $a $out/a-link; ls "$NIX_STORE" | wc -l > $out/visible')}]; };
  in derivation { name = "c"; system = builtins.currentSystem; builder = "/bin/sh"; inherit b;
      args = ["-c" ${sh('cat $b/b $b/a-link/a > $out; cat $b/visible >> $out; ls "$NIX_STORE" | wc -l >> $out')}]; }`,
  'source inputs (toFile, builtins.path)': `derivation {
    name = "srcs"; system = builtins.currentSystem; builder = "/bin/sh";
    f = builtins.toFile "note.txt" "hello from toFile";
    d = builtins.path { path = SRC_DIR; name = "srcdir"; };
    args = ["-c" ${sh('mkdir $out; cat $f > $out/f; cp -r $d $out/d; ls -la $d | wc -l > $out/n')}];
  }`,
  'fixed-output derivation': `derivation {
    name = "fod.txt"; system = builtins.currentSystem; builder = "/bin/sh";
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "sha256-rc95GuKAPAwQ8Nq5xDDDmsWAv5XWqDSiSPTe3XLGlmU=";
    args = ["-c" ${sh('echo fixed content > $out')}];
  }`,
  'passAsFile and the build dir': `derivation {
    name = "paf"; system = builtins.currentSystem; builder = "/bin/sh"; passAsFile = [ "big" ]; big = "a long value";
    args = ["-c" ${sh('echo "$bigPath" > $out; cat "$bigPath" >> $out; echo $NIX_BUILD_TOP $TMPDIR $PWD >> $out; touch /tmp/x && echo tmp-ok >> $out')}];
  }`,
  'a failing builder': `derivation {
    name = "fail"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" ${sh('echo about to fail; exit 3')}];
  }`,
};

interface Outcome {
  status: number;
  outputs: string[];
  hashes: string[];
  stderr: string;
}

interface Ids {
  uid: number;
  gid: number;
}

function runAs(as: Ids | undefined, which: 'ref' | 'tix', root: NixRoot, prog: string, args: string[]): { status: number; stdout: string; stderr: string } {
  if (as === undefined) return (which === 'ref' ? runRef : runTix)(root, prog, args, { timeoutMs: 60_000 });
  const bin = join(which === 'ref' ? REF_BIN : TIX_BIN, prog);
  const r = spawnSync('setpriv', ['--reuid', String(as.uid), '--regid', String(as.gid), '--clear-groups', '--', bin, ...args], {
    env: root.env, cwd: root.dir, encoding: 'utf8', timeout: 60_000,
  });
  return { status: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error) };
}

function build(root: NixRoot, which: 'ref' | 'tix', expr: string, as?: Ids): Outcome {
  const src = join(root.dir, 'srcdir');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'x'), 'x\n');
  const file = join(root.dir, 'case.nix');
  writeFileSync(file, expr.replace('SRC_DIR', src));
  if (as) spawnSync('chown', ['-R', `${as.uid}:${as.gid}`, root.dir]);
  const inst = runAs(as, 'ref', root, 'nix-instantiate', [file]);
  assert.equal(inst.status, 0, inst.stderr);
  const drvs = inst.stdout.trim().split('\n');
  const r = runAs(as, which, root, 'nix-store', ['--realise', ...drvs]);
  const outputs = r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n');
  const hashes = outputs.map((o) => spawnSync('/usr/bin/nix-hash', ['--type', 'sha256', '--base32', o], { encoding: 'utf8' }).stdout.trim());
  return { status: r.status, outputs, hashes, stderr: r.stderr };
}

/** Can tix build at all (sandbox off)? On a checkout without the builder, these tests are not about the sandbox. */
function tixCanBuild(): boolean {
  const root = makeRoot();
  try {
    const inst = runRef(root, 'nix-instantiate', ['--expr', 'derivation { name = "t"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "echo > $out"]; }']);
    return inst.status === 0 && runTix(root, 'nix-store', ['--realise', inst.stdout.trim()], { timeoutMs: 30_000 }).status === 0;
  } finally {
    root.cleanup();
  }
}

const avail = sandboxAvailability();
const skip = !haveReference()
  ? 'no reference Nix'
  : !avail.ok
    ? `sandbox unavailable: ${avail.reason}`
    : !tixCanBuild()
      ? 'tix cannot build unsandboxed yet (no builder in this checkout)'
      : false;

const NON_ROOT_USER = 'tixsbbuild';

/** A throwaway user for the non-root runs (made once, removed at exit); undefined when we cannot. */
function nonRootUser(): Ids | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = (): Ids | undefined => {
    const u = spawnSync('id', ['-u', NON_ROOT_USER]);
    const g = spawnSync('id', ['-g', NON_ROOT_USER]);
    return u.status === 0 && g.status === 0 ? { uid: Number(u.stdout.toString()), gid: Number(g.stdout.toString()) } : undefined;
  };
  if (ids() === undefined) {
    for (let i = 0; i < 10 && spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', NON_ROOT_USER]).status !== 0; i++) spawnSync('sleep', ['0.3']);
    if (ids() === undefined) return undefined;
    process.on('exit', () => {
      for (let i = 0; i < 10 && spawnSync('userdel', [NON_ROOT_USER]).status !== 0; i++) spawnSync('sleep', ['0.3']);
    });
  }
  return ids();
}

function compare(name: string, expr: string, as?: Ids): void {
    const base = mkdtempSync(join(tmpdir(), 'tix-sbb-'));
    chmodSync(base, 0o755);
    const dir = join(base, 'r');
    try {
      mkdirSync(dir);
      const a = makeRoot({ dir, conf: CONF });
      const ref = build(a, 'ref', expr, as);
      a.cleanup();
      mkdirSync(dir);
      const b = makeRoot({ dir, conf: CONF });
      const tix = build(b, 'tix', expr, as);
      b.cleanup();
      assert.equal(tix.status, ref.status, `exit status\nref: ${ref.stderr}\ntix: ${tix.stderr}`);
      assert.deepEqual(tix.outputs, ref.outputs, 'output paths');
      assert.deepEqual(tix.hashes, ref.hashes, 'output NAR hashes');
      if (ref.status === 0) assert.ok(ref.outputs.length > 0, name);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
}

for (const [name, expr] of Object.entries(CASES)) {
  test(`sandboxed build matches the reference: ${name}`, { skip }, () => compare(name, expr));
}

// The builder's argv[0] is its base name, as in 2.8: so with the native helper; bwrap (the
// fallback) has no --argv0 and passes the full path (docs/deviations.md).
const ARGV0 = `derivation {
    name = "argv0"; system = builtins.currentSystem; builder = "/bin/sh";
    args = ["-c" ${sh('echo "$0" > $out; /bin/bash -c \'echo "$0"\' >> $out')}];
  }`;
test('sandboxed build matches the reference: the builder\'s argv[0]', { skip: skip || (avail.ok && !avail.tools.native && 'no native sandbox helper (bwrap passes the full path)') }, () =>
  compare('argv0', ARGV0));

const NON_ROOT_CASES = ['sandbox environment as the builder sees it', 'a dependency chain and its closure', 'fixed-output derivation', 'a failing builder'];
for (const name of NON_ROOT_CASES) {
  test(`non-root: sandboxed build matches the reference: ${name}`, { skip: skip || (process.getuid?.() !== 0 && 'needs root to make a throwaway user') }, (t) => {
    const as = nonRootUser();
    if (as === undefined) return t.skip('cannot create a test user');
    // Deviation (docs/sandbox.md): as non-root, bwrap nests the builder's user namespace in one
    // where tix's uid is 0, so /proc/self/uid_map reads `1000 0 1` where 2.8 shows `1000 <uid> 1`.
    compare(name, CASES[name]!.replace('cat /proc/self/uid_map /proc/self/gid_map; ', ''), as);
  });
}

test('timeout: tix kills the sandboxed build and everything it started (status 101, as the reference)', { skip }, () => {
  const marker = `4242.${process.pid}`;
  const expr = `derivation { name = "hang"; system = builtins.currentSystem; builder = "/bin/sh";
    args = ["-c" ${sh(`(setsid sleep ${marker} &); nohup sleep ${marker} >/dev/null 2>&1 & (sleep ${marker} & disown); while true; do sleep 1; done`)}]; }`;
  const base = mkdtempSync(join(tmpdir(), 'tix-sbb-'));
  const dir = join(base, 'r');
  try {
    const statuses: number[] = [];
    for (const which of ['ref', 'tix'] as const) {
      mkdirSync(dir);
      const root = makeRoot({ dir, conf: CONF + '\ntimeout = 2' });
      const drv = runRef(root, 'nix-instantiate', ['--expr', expr]).stdout.trim();
      const r = (which === 'ref' ? runRef : runTix)(root, 'nix-store', ['--realise', drv], { timeoutMs: 60_000 });
      statuses.push(r.status);
      spawnSync('sleep', ['0.2']);
      const left = spawnSync('pgrep', ['-f', `sleep ${marker}`], { encoding: 'utf8' }).stdout.trim();
      assert.equal(left, '', `${which}: processes left behind`);
      root.cleanup();
    }
    assert.deepEqual(statuses, [101, 101]);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/**
 * 2.8: a store path named in `sandbox-paths` brings its closure into the
 * sandbox (each path at its own location), and the paths are not inputs: the
 * output's references do not include them. `b` refers to `a`; the probe names
 * only `b` (as a string without context) and a file of `c` (at /c-file).
 */
test('sandbox-paths naming store paths bring their closures, as the reference', { skip }, () => {
  const expr = `let
    a = derivation { name = "a"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" ${sh('mkdir $out; echo A > $out/a')}]; };
    b = derivation { name = "b"; system = builtins.currentSystem; builder = "/bin/sh"; inherit a; args = ["-c" ${sh('mkdir $out; ln -s $a $out/a-link; echo B > $out/b')}]; };
    c = derivation { name = "c"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" ${sh('echo C > $out')}]; };
  in {
    inherit b c;
    probe = derivation { name = "probe"; system = builtins.currentSystem; builder = "/bin/sh";
      bpath = builtins.unsafeDiscardStringContext b.outPath;
      args = ["-c" ${sh('{ ls "$NIX_STORE"; cat $bpath/b $bpath/a-link/a /c-file; echo $bpath; } > $out 2>&1')}]; };
  }`;
  const base = mkdtempSync(join(tmpdir(), 'tix-sbb-'));
  chmodSync(base, 0o755);
  const dir = join(base, 'r');
  try {
    const results: Array<{ status: number; content: string; refs: string; hash: string; stderr: string }> = [];
    for (const which of ['ref', 'tix'] as const) {
      mkdirSync(dir);
      const root = makeRoot({ dir, conf: CONF });
      const file = join(dir, 'case.nix');
      writeFileSync(file, expr);
      const run = which === 'ref' ? runRef : runTix;
      const drv = (attr: string): string => runRef(root, 'nix-instantiate', [file, '-A', attr]).stdout.trim();
      const bOut = run(root, 'nix-store', ['--realise', drv('b')], { timeoutMs: 60_000 }).stdout.trim();
      const cOut = run(root, 'nix-store', ['--realise', drv('c')], { timeoutMs: 60_000 }).stdout.trim();
      assert.ok(bOut !== '' && cOut !== '', `${which}: dependencies did not build`);
      const r = run(root, 'nix-store', ['--realise', drv('probe'), '--option', 'extra-sandbox-paths', `${bOut} /c-file=${cOut}`], { timeoutMs: 60_000 });
      const out = r.stdout.trim();
      const content = out === '' ? '' : spawnSync('cat', [out], { encoding: 'utf8' }).stdout;
      const refs = out === '' ? '' : runRef(root, 'nix-store', ['--query', '--references', out]).stdout;
      const hash = out === '' ? '' : spawnSync('/usr/bin/nix-hash', ['--type', 'sha256', '--base32', out], { encoding: 'utf8' }).stdout.trim();
      results.push({ status: r.status, content, refs, hash, stderr: r.stderr });
      root.cleanup();
    }
    const [ref, tix] = results as [(typeof results)[0], (typeof results)[0]];
    assert.equal(ref.status, 0, ref.stderr);
    assert.match(ref.content, /^B\nA\nC\n/m, 'the reference saw the closure');
    assert.equal(tix.status, ref.status, tix.stderr);
    assert.equal(tix.content, ref.content, 'what the builder saw');
    assert.equal(tix.refs, ref.refs, 'references (sandbox-paths are not inputs)');
    assert.equal(tix.hash, ref.hash);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

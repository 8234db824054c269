/**
 * Cross-implementation tests of the local store (issue 3): the reference Nix
 * 2.8 and tix work on the SAME store root, and each must accept what the
 * other wrote — adds, builds, queries, verification, export/import, GC roots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync, chmodSync, existsSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { haveReference, makeRoot, runRef, runTix, type NixRoot, ok } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

/** A small tree with an executable, a symlink, an empty file and a subdir. */
function makeTree(dir: string, seed: number): void {
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), `hello ${seed}\n`);
  writeFileSync(join(dir, 'run.sh'), `#!/bin/sh\necho ${seed}\n`);
  chmodSync(join(dir, 'run.sh'), 0o755);
  writeFileSync(join(dir, 'sub', 'empty'), '');
  writeFileSync(join(dir, 'sub', 'deeper', 'bin'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * seed) & 0xff)));
  symlinkSync('a.txt', join(dir, 'link'));
}

const GRAPH_NIX = `
let
  src = builtins.toFile "src.txt" "hello\\n";
  c = derivation { name = "c"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo \${src} > $out"]; };
  b = derivation { name = "b"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "/bin/mkdir $out; echo \${c} > $out/c; echo $out > $out/self"]; };
  a = derivation { name = "a"; system = builtins.currentSystem; builder = "/bin/bash"; outputs = ["out" "dev"]; args = ["-c" "echo \${b} \${c} > $out; echo \${b} > $dev"]; };
in a
`;

function normErr(s: string): string {
  return s.replace(/Try '[^']*nix-store --help'/g, "Try 'nix-store --help'").replace(/^ +/gm, '');
}

test('tix adds; the reference verifies and queries them', { skip }, () => {
  const root = makeRoot();
  try {
    const tree = join(root.dir, 'tree');
    makeTree(tree, 7);
    writeFileSync(join(root.dir, 'hello.txt'), 'hello\n');
    const added = [
      ...ok(runTix(root, 'nix-store', ['--add', tree, 'hello.txt']), 'tix --add').trim().split('\n'),
      ...ok(runTix(root, 'nix-store', ['--add-fixed', 'sha256', 'hello.txt']), 'flat sha256').trim().split('\n'),
      ...ok(runTix(root, 'nix-store', ['--add-fixed', 'md5', 'hello.txt']), 'flat md5').trim().split('\n'),
      ...ok(runTix(root, 'nix-store', ['--add-fixed', '--recursive', 'sha1', tree]), 'rec sha1').trim().split('\n'),
      ...ok(runTix(root, 'nix-store', ['--add-fixed', '--recursive', 'sha512', tree]), 'rec sha512').trim().split('\n'),
      // A flat add keeps the executable bit in 2.8's --add-fixed and `nix store add-file`.
      ...ok(runTix(root, 'nix-store', ['--add-fixed', 'md5', join(tree, 'run.sh')]), 'flat exec').trim().split('\n'),
      ...ok(runTix(root, 'nix', ['store', 'add-file', join(tree, 'run.sh')]), 'add-file exec').trim().split('\n'),
    ];
    // The same adds by the reference give the same paths (and are no-ops).
    const refAdded = [
      ...ok(runRef(root, 'nix-store', ['--add', tree, 'hello.txt']), 'ref --add').trim().split('\n'),
      ...ok(runRef(root, 'nix-store', ['--add-fixed', 'sha256', 'hello.txt']), '').trim().split('\n'),
      ...ok(runRef(root, 'nix-store', ['--add-fixed', 'md5', 'hello.txt']), '').trim().split('\n'),
      ...ok(runRef(root, 'nix-store', ['--add-fixed', '--recursive', 'sha1', tree]), '').trim().split('\n'),
      ...ok(runRef(root, 'nix-store', ['--add-fixed', '--recursive', 'sha512', tree]), '').trim().split('\n'),
      ...ok(runRef(root, 'nix-store', ['--add-fixed', 'md5', join(tree, 'run.sh')]), '').trim().split('\n'),
      ...ok(runRef(root, 'nix', ['store', 'add-file', join(tree, 'run.sh')]), '').trim().split('\n'),
    ];
    assert.deepEqual(added, refAdded);
    const v = runRef(root, 'nix-store', ['--verify', '--check-contents']);
    assert.equal(v.status, 0, v.stderr);
    assert.doesNotMatch(v.stderr, /modified|disappeared|error/);
    const json = JSON.parse(ok(runRef(root, 'nix', ['path-info', '-r', '--json', ...added]), 'ref path-info'));
    assert.equal(json.length, new Set(added).size);
    for (const e of json) {
      assert.match(e.narHash, /^sha256-/);
      assert.ok(e.narSize > 0);
      assert.match(e.ca, /^fixed:/);
    }
    for (const p of added) {
      assert.equal(runRef(root, 'nix-store', ['-q', '--references', p]).stdout, runTix(root, 'nix-store', ['-q', '--references', p]).stdout);
      assert.equal(runRef(root, 'nix-store', ['-q', '--hash', p]).stdout, runTix(root, 'nix-store', ['-q', '--hash', p]).stdout);
    }
    assert.equal(ok(runTix(root, 'nix-store', ['--dump-db']), 'tix dump-db'), ok(runRef(root, 'nix-store', ['--dump-db']), 'ref dump-db'));
  } finally {
    root.cleanup();
  }
});

function buildGraph(root: NixRoot): { out: string; drv: string } {
  writeFileSync(join(root.dir, 'g.nix'), GRAPH_NIX);
  const out = ok(runRef(root, 'nix-build', ['g.nix', '-o', 'res']), 'ref nix-build').trim().split('\n').pop()!;
  const drv = ok(runRef(root, 'nix-store', ['-q', '--deriver', out]), 'deriver').trim();
  return { out, drv };
}

test('the reference builds; tix queries and verifies agree', { skip }, () => {
  const root = makeRoot();
  try {
    const { out, drv } = buildGraph(root);
    const c = ok(runRef(root, 'nix-store', ['-q', '--references', out]), 'refs').trim().split('\n')[0]!;
    const queries: string[][] = [
      ['--references', 'res'], ['--referrers', c], ['-R', 'res'], ['-qR', 'res'], ['--tree', 'res'], ['--graph', 'res'],
      ['--deriver', 'res'], ['--hash', 'res'], ['--size', 'res'], ['--outputs', 'res'], ['--roots', 'res'],
      ['--referrers-closure', c], ['--outputs', drv], ['--tree', drv], ['--graph', drv], ['-R', '--include-outputs', drv],
      ['--references', '--use-output', drv], ['--requisites', '--use-output', drv], ['--resolve', 'res'],
      ['--references', join(root.storeDir, '00000000000000000000000000000000-x')], ['--bogus'], ['-R', '--tree', 'res'],
      ['--hash', '/nonexistent-path'],
    ];
    for (const q of queries) {
      const args = q[0] === '-qR' ? ['-qR', ...q.slice(1)] : ['-q', ...q];
      const r = runRef(root, 'nix-store', args);
      const t = runTix(root, 'nix-store', args);
      assert.equal(t.stdout, r.stdout, `stdout of nix-store ${args.join(' ')} (stderr: ${t.stderr})`);
      assert.equal(t.status, r.status, `status of nix-store ${args.join(' ')}: ${t.stderr}`);
      assert.equal(normErr(t.stderr), normErr(r.stderr), `stderr of nix-store ${args.join(' ')}`);
    }
    const keep = (d: string, o: string): string[] => ['--option', 'keep-derivations', d, '--option', 'keep-outputs', o];
    for (const op of [
      ['--verify', '--check-contents'], ['--verify-path', 'res'], ['--check-validity', 'res'], ['--dump-db'], ['--gc', '--print-roots'],
      ['--gc', '--print-live'], ['--gc', '--print-dead'],
      ['--gc', '--print-live', ...keep('false', 'false')], ['--gc', '--print-dead', ...keep('false', 'true')],
      ['--gc', '--print-live', ...keep('true', 'true')],
    ]) {
      const r = runRef(root, 'nix-store', op);
      const t = runTix(root, 'nix-store', op);
      assert.equal(t.stdout, r.stdout, `stdout of nix-store ${op.join(' ')}`);
      assert.equal(t.status, r.status, `status of nix-store ${op.join(' ')}`);
    }
    assert.equal(ok(runTix(root, 'nix-store', ['--export', out]), 'tix export'), ok(runRef(root, 'nix-store', ['--export', out]), 'ref export'));
    for (const cmd of [
      ['path-info', './res'], ['path-info', '-r', './res'], ['path-info', '-rsS', '--sigs', './res'], ['path-info', '--json', '-r', '-S', './res'],
      ['path-info', '--all'], ['path-info', '--json', join(root.storeDir, '00000000000000000000000000000000-x')],
      ['store', 'verify', '-r', './res'], ['store', 'add-path', '--dry-run', './g.nix'],
    ]) {
      const r = runRef(root, 'nix', cmd);
      const t = runTix(root, 'nix', cmd);
      assert.equal(t.stdout, r.stdout, `stdout of nix ${cmd.join(' ')} (stderr: ${t.stderr})`);
      assert.equal(t.status, r.status, `status of nix ${cmd.join(' ')}`);
    }
  } finally {
    root.cleanup();
  }
});

test('export by one, import by the other, in a fresh store at the same place', { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-xi-'));
  const dir = join(base, 'r');
  try {
    mkdirSync(dir);
    const a = makeRoot({ dir });
    const { out } = buildGraph(a);
    const closure = ok(runRef(a, 'nix-store', ['-qR', out]), 'closure').trim().split('\n');
    const dump = runRef(a, 'nix-store', ['--export', ...closure]).stdoutBytes;
    const dumpDb = ok(runRef(a, 'nix-store', ['--dump-db', ...closure]), 'dump-db');
    a.cleanup();
    for (const [importer, verifier] of [[runTix, runRef], [runRef, runTix]] as const) {
      mkdirSync(dir);
      const b = makeRoot({ dir });
      const imported = ok(importer(b, 'nix-store', ['--import'], { input: dump }), 'import').trim().split('\n');
      assert.deepEqual(imported, closure);
      const v = verifier(b, 'nix-store', ['--verify', '--check-contents']);
      assert.equal(v.status, 0, v.stderr);
      // Registration time differs; everything else must be equal.
      assert.equal(ok(verifier(b, 'nix-store', ['--dump-db', ...closure]), 'dump-db'), dumpDb);
      assert.equal(ok(verifier(b, 'nix-store', ['-q', '--deriver', out]), 'deriver').trim().endsWith('-a.drv'), true);
      b.cleanup();
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('GC by either side keeps what the other rooted', { skip }, () => {
  const root = makeRoot();
  try {
    const files = ['one', 'two', 'three', 'four'].map((n) => {
      writeFileSync(join(root.dir, n), `${n}\n`);
      return n;
    });
    const [p1, p2] = ok(runTix(root, 'nix-store', ['--add', files[0]!, files[1]!]), 'tix add').trim().split('\n');
    const [p3, p4] = ok(runRef(root, 'nix-store', ['--add', files[2]!, files[3]!]), 'ref add').trim().split('\n');
    // The reference roots p1 (tix's) with an indirect root; tix roots p3 (the reference's) in gcroots/.
    ok(runRef(root, 'nix-store', ['--add-root', join(root.dir, 'keep1'), '-r', p1!]), 'ref add-root');
    symlinkSync(p3!, join(root.stateDir, 'gcroots', 'keep3'));
    ok(runTix(root, 'nix-store', ['--gc']), 'tix gc');
    assert.ok(existsSync(p1!) && existsSync(p3!), 'tix GC kept both roots');
    assert.ok(!existsSync(p2!) && !existsSync(p4!), 'tix GC removed the rest');
    assert.equal(runRef(root, 'nix-store', ['--verify', '--check-contents']).status, 0);
    // Now the other way round: tix adds more, roots one; the reference collects.
    writeFileSync(join(root.dir, 'five'), 'five\n');
    writeFileSync(join(root.dir, 'six'), 'six\n');
    const [p5, p6] = ok(runTix(root, 'nix-store', ['--add', 'five', 'six']), 'tix add').trim().split('\n');
    symlinkSync(p5!, join(root.stateDir, 'gcroots', 'keep5'));
    ok(runRef(root, 'nix-store', ['--gc']), 'ref gc');
    assert.ok(existsSync(p1!) && existsSync(p3!) && existsSync(p5!), 'ref GC kept all roots');
    assert.ok(!existsSync(p6!), 'ref GC removed the dead one');
    assert.equal(runTix(root, 'nix-store', ['--verify', '--check-contents']).status, 0);
    // --delete refuses a live path, with the reference's message and exit code.
    const r = runRef(root, 'nix-store', ['--delete', p5!]);
    const t = runTix(root, 'nix-store', ['--delete', p5!]);
    assert.equal(t.status, r.status);
    assert.equal(t.stdout, r.stdout);
    assert.match(t.stderr, /Cannot delete path '.*' since it is still alive/);
    assert.ok(existsSync(p5!));
  } finally {
    root.cleanup();
  }
});

test('bad input: clear errors, store unchanged', { skip }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'bad name'), 'x');
    mkdirSync(join(root.dir, 'adir'));
    writeFileSync(join(root.dir, 'ok'), 'ok\n');
    ok(runTix(root, 'nix-store', ['--add', 'ok']), 'seed add');
    const before = ok(runRef(root, 'nix-store', ['--dump-db']), 'dump');
    symlinkSync(before.split('\n')[0]!, join(root.stateDir, 'gcroots', 'ok'));
    const listing = (): string => execFileSync('ls', ['-A', root.storeDir]).toString();
    const entries = listing();
    const cases: string[][] = [
      ['--add', 'bad name'], ['--add', 'missing-file'], ['--add-fixed', 'sha256', 'adir'], ['--add-fixed', 'foo', 'ok'],
      ['--add-fixed'],
    ];
    const results = cases.map((c) => {
      const t = runTix(root, 'nix-store', c);
      assert.equal(listing(), entries, `store dir unchanged after tix ${c.join(' ')}`);
      return t;
    });
    assert.equal(ok(runRef(root, 'nix-store', ['--dump-db']), 'dump'), before);
    // (The reference itself leaves `<path>` and `<path>.lock` behind for a flat add of a directory.)
    cases.forEach((c, i) => {
      const r = runRef(root, 'nix-store', c);
      assert.equal(results[i]!.status, r.status, `status of ${c.join(' ')}`);
      assert.equal(normErr(results[i]!.stderr), normErr(r.stderr), `stderr of ${c.join(' ')}`);
    });
    ok(runTix(root, 'nix-store', ['--gc']), 'gc of the leftovers');
    assert.equal(listing(), entries);
    // A registration naming an invalid reference is refused as a whole.
    const okPath = before.split('\n')[0]!;
    const bogus = join(root.storeDir, '00000000000000000000000000000000-missing');
    const reg = `${okPath}\n\n1\n${bogus}\n`;
    const t = runTix(root, 'nix-store', ['--register-validity', '--reregister'], { input: reg });
    assert.equal(t.status, 1);
    assert.match(t.stderr, /not valid/);
    // A truncated export stream is refused, nothing registered.
    const exp = runTix(root, 'nix-store', ['--export', okPath]).stdoutBytes;
    const t2 = runTix(root, 'nix-store', ['--import'], { input: exp.subarray(0, 60) });
    assert.equal(t2.status, 1);
    assert.equal(ok(runRef(root, 'nix-store', ['--dump-db']), 'dump'), before);
    assert.equal(listing(), entries);
    assert.equal(readFileSync(join(root.stateDir, 'db', 'schema'), 'utf8'), '10');
  } finally {
    root.cleanup();
  }
});

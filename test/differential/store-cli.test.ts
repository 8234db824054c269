/**
 * Store CLI against the reference Nix 2.8 (issue 3): `nix-store --version`,
 * `-q --graph/--graphml/--tree/--binding`, `--optimise` (and the GC's
 * removal of unused links), `nix store ls/cat` and `nix nar ls/cat`.
 * Same store root for both sides unless the command changes the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, type NixRoot, ok, sameOnRoot } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

const GRAPH_NIX = `
let
  src = builtins.toFile "src.txt" "hello\\n";
  c = derivation { name = "c"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo \${src} > $out"]; };
  b = derivation { name = "b"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "/bin/mkdir $out; echo \${c} > $out/c; echo $out > $out/self"]; };
  a = derivation { name = "a-long-name"; system = builtins.currentSystem; builder = "/bin/bash"; outputs = ["out" "dev"]; extra = "caf\\u00e9"; args = ["-c" "echo \${b} \${c} > $out; echo \${b} > $dev"]; };
in a
`;

test('nix-store --version names tix and the version it implements', { skip }, () => {
  const root = makeRoot();
  try {
    assert.equal(ok(runRef(root, 'nix-store', ['--version']), 'ref'), 'nix-store (Nix) 2.8.0\n');
    assert.equal(ok(runTix(root, 'nix-store', ['--version']), 'tix'), 'nix-store (tix) 2.8.0\n');
  } finally {
    root.cleanup();
  }
});

test('nix-store -q --graph/--graphml/--tree/--binding agree with the reference', { skip, timeout: 120_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'g.nix'), GRAPH_NIX);
    const drv = ok(runRef(root, 'nix-instantiate', ['g.nix']), 'instantiate').trim();
    const outs = ok(runRef(root, 'nix-store', ['-r', drv]), 'build').trim().split('\n');
    for (const q of ['--graph', '--graphml', '--tree', '-R']) {
      sameOnRoot(root, 'nix-store', ['-q', q, ...outs]);
      sameOnRoot(root, 'nix-store', ['-q', q, drv]);
    }
    sameOnRoot(root, 'nix-store', ['-q', '--graphml', '--use-output', drv]);
    for (const name of ['system', 'builder', 'extra', 'out', 'nope']) {
      sameOnRoot(root, 'nix-store', ['-q', '--binding', name, drv]);
      sameOnRoot(root, 'nix-store', ['-q', '-b', name, outs[0]!]);
    }
    sameOnRoot(root, 'nix-store', ['-q', '--binding']);
    const src = ok(runRef(root, 'nix-store', ['-qR', drv]), 'qR').split('\n').find((l) => l.endsWith('-src.txt'))!;
    sameOnRoot(root, 'nix-store', ['-q', '--binding', 'out', src]);
  } finally {
    root.cleanup();
  }
});

/** A store with duplicate files (in one path and across paths), an executable twin and symlinks. */
function optimiseFixture(root: NixRoot): string[] {
  const t1 = join(root.dir, 't1');
  const t2 = join(root.dir, 't2');
  mkdirSync(join(t1, 'd', 'e'), { recursive: true });
  mkdirSync(t2);
  for (const f of [join(t1, 'a'), join(t1, 'd', 'b'), join(t1, 'd', 'e', 'c'), join(t2, 'c'), join(t2, 'x')]) writeFileSync(f, 'same\n');
  chmodSync(join(t2, 'x'), 0o755);
  writeFileSync(join(t2, 'u'), 'unique\n');
  writeFileSync(join(t2, 'big'), Buffer.alloc(3 << 20, 1));
  writeFileSync(join(t1, 'big'), Buffer.alloc(3 << 20, 1));
  symlinkSync('target', join(t1, 'l'));
  symlinkSync('target', join(t2, 'l'));
  return ok(runTix(root, 'nix-store', ['--add', t1, t2]), 'add').trim().split('\n');
}

/** Which files share an inode: "name/inner" keys grouped, plus the `.links` names. */
function linkShape(root: NixRoot): { groups: string[][]; links: string[] } {
  const byIno = new Map<number, string[]>();
  const walk = (p: string, key: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p)) walk(join(p, n), `${key}/${n}`);
      return;
    }
    const l = byIno.get(st.ino) ?? [];
    l.push(key);
    byIno.set(st.ino, l);
  };
  for (const n of readdirSync(root.storeDir)) if (!n.startsWith('.')) walk(join(root.storeDir, n), n.slice(33));
  const links = readdirSync(join(root.storeDir, '.links')).sort();
  for (const n of links) {
    const l = byIno.get(lstatSync(join(root.storeDir, '.links', n)).ino);
    l?.push(`.links/${n}`);
  }
  return { groups: [...byIno.values()].map((g) => g.sort()).sort(), links };
}

test('nix-store --optimise links the same files as the reference; the reference verifies; GC drops unused links', { skip, timeout: 120_000 }, () => {
  const roots = { ref: makeRoot(), tix: makeRoot() };
  try {
    const shapes: Record<string, ReturnType<typeof linkShape>> = {};
    const msgs: Record<string, string> = {};
    for (const side of ['ref', 'tix'] as const) {
      const root = roots[side];
      optimiseFixture(root);
      const r = (side === 'ref' ? runRef : runTix)(root, 'nix-store', ['--optimise']);
      msgs[side] = ok(r, `${side} optimise`) + r.stderr;
      shapes[side] = linkShape(root);
    }
    assert.equal(msgs.tix, msgs.ref);
    assert.match(msgs.tix!, /freed by hard-linking [1-9]/);
    assert.deepEqual(shapes.tix, shapes.ref);
    const root = roots.tix;
    const v = runRef(root, 'nix-store', ['--verify', '--check-contents']);
    assert.equal(v.status, 0, v.stderr);
    assert.doesNotMatch(v.stderr, /modified|disappeared|error|warning/);
    // Directories made writable to relink inside them are canonical again.
    const t1 = readdirSync(root.storeDir).find((n) => n.endsWith('-t1'))!;
    const d = lstatSync(join(root.storeDir, t1, 'd'));
    assert.equal(d.mode & 0o777, 0o555);
    assert.equal(d.mtimeMs, 1000);
    // A second run links nothing new, like the reference's.
    const again = runTix(root, 'nix-store', ['--optimise']);
    assert.equal(ok(again, 'again') + again.stderr, '0.00 MiB freed by hard-linking 0 files\n');
    // GC of everything: both sides remove the now unused links and print the same note.
    const notes: Record<string, string> = {};
    for (const side of ['ref', 'tix'] as const) {
      const g = (side === 'ref' ? runRef : runTix)(roots[side], 'nix-store', ['--gc']);
      ok(g, `${side} gc`);
      notes[side] = g.stderr.split('\n').filter((l) => l.startsWith('note:') || l.startsWith('deleting unused')).join('\n');
      assert.deepEqual(readdirSync(join(roots[side].storeDir, '.links')), [], `${side} removed unused links`);
    }
    assert.equal(notes.tix, notes.ref);
  } finally {
    roots.ref.cleanup();
    roots.tix.cleanup();
  }
});

test('nix store ls/cat and nix nar ls/cat agree with the reference', { skip, timeout: 120_000 }, () => {
  const root = makeRoot();
  try {
    const [p1, p2] = optimiseFixture(root);
    writeFileSync(join(root.dir, 'odd name.txt'), 'spaces\n');
    const nar = join(root.dir, 't1.nar');
    writeFileSync(nar, runRef(root, 'nix-store', ['--dump', p1!]).stdoutBytes);
    const invalid = join(root.storeDir, '00000000000000000000000000000000-x');
    const cases: string[][] = [];
    for (const flags of [[], ['-R', '--long'], ['-l'], ['-ld'], ['--json'], ['--json', '-R']]) {
      for (const p of [p1!, join(p1!, 'd'), join(p1!, 'a'), join(p1!, 'l'), join(p2!, 'x'), join(p1!, 'nope')]) cases.push(['store', 'ls', ...flags, p]);
      for (const p of ['/', '/d', '/d/e/c', '/l', '/nope']) cases.push(['nar', 'ls', ...flags, nar, p]);
    }
    cases.push(
      ['store', 'ls', invalid], ['store', 'ls', root.storeDir], ['store', 'ls', root.dir], ['store', 'ls', join(p1!, 'd', '..', 'a')],
      ['store', 'ls'], ['store', 'ls', p1!, p2!], ['store', 'ls', '--bogus', p1!],
      ['store', 'cat', join(p1!, 'a')], ['store', 'cat', join(p1!, 'big')], ['store', 'cat', p1!], ['store', 'cat', join(p1!, 'l')],
      ['store', 'cat', join(p1!, 'nope')], ['store', 'cat', join(invalid, 'y')], ['store', 'cat'],
      ['nar', 'cat', nar, '/a'], ['nar', 'cat', nar, '/d'], ['nar', 'cat', nar, '/nope'], ['nar', 'cat', nar],
    );
    for (const c of cases) sameOnRoot(root, 'nix', c);
  } finally {
    root.cleanup();
  }
});

test('nix-store -qR over a random DAG prints the reference order, for one and several start paths', { skip, timeout: 120_000 }, async () => {
  const { StoreDir, hashBytes } = await import('../../src/formats/index.js');
  const { mulberry32 } = await import('../harness/prng.js');
  const root = makeRoot();
  try {
    // 300 paths, each referring to up to 4 earlier ones (some to themselves), loaded by the reference.
    const sd = new StoreDir(root.storeDir);
    const rnd = mulberry32(11);
    const paths: string[] = [];
    let reg = '';
    for (let i = 0; i < 300; i++) {
      const p = sd.print(sd.makeTextPath(`n${i}`, hashBytes('sha256', `n ${i}`), []));
      paths.push(p);
      const refs = new Set<string>();
      for (let k = 0; i > 0 && k < 4; k++) refs.add(paths[Math.floor(rnd() * i)]!);
      if (rnd() < 0.1) refs.add(p);
      reg += `${p}\n${hashBytes('sha256', 'x').base16}\n120\n\n${refs.size}\n${[...refs].map((r) => r + '\n').join('')}`;
    }
    assert.equal(runRef(root, 'nix-store', ['--load-db'], { input: reg }).status, 0);
    for (const args of [[paths[299]!], [paths[150]!, paths[10]!], [paths[7]!, paths[298]!, paths[200]!, paths[7]!], [paths[0]!]]) {
      sameOnRoot(root, 'nix-store', ['-qR', ...args]);
    }
  } finally {
    root.cleanup();
  }
});

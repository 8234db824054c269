/**
 * Derivations against the reference Nix 2.8: every `.drv` the reference
 * writes for formats-drv.nix (40 top-level derivations plus their inputs)
 * must parse and re-print byte-identically, recompute the same drv path and
 * output paths (also from blanked outputs), give the same `nix
 * show-derivation` JSON, and the text files beside them the same paths.
 * Also `--print-fixed-path` for many algorithm/method/name combinations.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, REPO_ROOT, type NixRoot } from '../harness/index.js';
import {
  StoreDir, checkDerivationOutputs, computeDrvPath, derivationNameFromPath, fillInOutputPaths, hashBytes,
  parseDerivation, parseHash, printDerivation, showDerivationJson, outputKind, type Derivation, type HashType,
} from '../../src/formats/index.js';
import { rng } from './formats-trees.js';

const skip = !haveReference() && 'reference Nix not installed';
const NIX_FILE = join(REPO_ROOT, 'test', 'differential', 'formats-drv.nix');
let root: NixRoot;
let sd: StoreDir;
let topLevel: string[] = [];
const drvFiles = new Map<string, Buffer>();

before(() => {
  root = makeRoot({ conf: 'extra-experimental-features = ca-derivations impure-derivations' });
  sd = new StoreDir(root.storeDir);
  if (skip) return;
  const r = runRef(root, 'nix-instantiate', [NIX_FILE]);
  assert.equal(r.status, 0, r.stderr);
  topLevel = r.stdout.trim().split('\n').map((l) => l.replace(/!.*$/, ''));
  for (const f of readdirSync(root.storeDir)) {
    if (f.endsWith('.drv')) drvFiles.set(sd.dir + '/' + f, readFileSync(join(root.storeDir, f)));
  }
});
after(() => root?.cleanup());

const resolve = (p: string): Derivation => parseDerivation(drvFiles.get(p)!, derivationNameFromPath(p), { storeDir: sd });

test('at least 30 derivations were instantiated', { skip }, () => {
  assert.ok(topLevel.length >= 30, `only ${topLevel.length}`);
  assert.ok(drvFiles.size >= topLevel.length);
});

test('every .drv parses, re-prints byte-identically and recomputes its paths', { skip }, () => {
  const memo = new Map();
  const kinds = new Set<string>();
  for (const [path, bytes] of drvFiles) {
    const drv = resolve(path);
    assert.ok(Buffer.from(printDerivation(drv), 'latin1').equals(bytes), `${path}: re-print differs`);
    assert.equal(sd.print(computeDrvPath(drv, sd)), path, `${path}: drv path`);
    checkDerivationOutputs(drv, path, { storeDir: sd, resolve, memo });
    // From scratch: blank the outputs as derivationStrict starts, then fill them in.
    const blank = structuredClone(drv);
    for (const [name, o] of blank.outputs) {
      if (outputKind(o) === 'inputAddressed') o.path = '';
      if (outputKind(o) !== 'floating') blank.env.delete(name);
    }
    if (!blank.env.has('__json')) {
      assert.ok(Buffer.from(printDerivation(fillInOutputPaths(blank, { storeDir: sd, resolve, memo })), 'latin1').equals(bytes), `${path}: fill-in differs`);
    }
    for (const o of drv.outputs.values()) kinds.add(outputKind(o));
  }
  for (const k of ['inputAddressed', 'fixed', 'floating', 'deferred']) assert.ok(kinds.has(k), `no ${k} output covered`);
});

test('nix show-derivation JSON equals the reference, in-process and via the tix CLI', { skip }, () => {
  const all = [...drvFiles.keys()];
  const ref = runRef(root, 'nix', ['show-derivation', ...all]);
  assert.equal(ref.status, 0, ref.stderr);
  const ours = showDerivationJson(new Map(all.map((p) => [p, resolve(p)])));
  assert.ok(Buffer.from(ours, 'latin1').equals(ref.stdoutBytes), 'JSON differs');
  const tix = runTix(root, 'nix', ['show-derivation', ...all]);
  assert.equal(tix.status, 0, tix.stderr);
  assert.ok(tix.stdoutBytes.equals(ref.stdoutBytes), 'tix CLI JSON differs');
  const refR = runRef(root, 'nix', ['show-derivation', '-r', topLevel[0]!]);
  const tixR = runTix(root, 'nix', ['show-derivation', '-r', topLevel[0]!]);
  assert.ok(tixR.stdoutBytes.equals(refR.stdoutBytes), '-r differs');
});

test('text objects (toFile, path inputs) have the paths tix computes', { skip }, () => {
  let checked = 0;
  for (const f of readdirSync(root.storeDir)) {
    if (!/\.(txt|sh)$/.test(f)) continue;
    const full = sd.print(sd.parse(`${sd.dir}/${f}`));
    const refs = runRef(root, 'nix-store', ['-q', '--references', full]).stdout.trim().split('\n').filter((l) => l !== '').map((l) => sd.parse(l));
    const content = readFileSync(full);
    const name = f.slice(33);
    assert.equal(sd.print(sd.makeTextPath(name, hashBytes('sha256', content), refs)), full);
    checked++;
  }
  assert.ok(checked >= 3, `checked ${checked}`);
});

test('--print-fixed-path matches the reference over generated cases', { skip }, () => {
  const r = rng(7);
  const algos: HashType[] = ['md5', 'sha1', 'sha256', 'sha512'];
  const names = ['abc', '.x', '..', 'a+b=c?d_e.f-g', 'n'.repeat(211), 'tree', 'hello.txt'];
  for (let i = 0; i < 40; i++) {
    const algo = algos[i % 4]!;
    const h = hashBytes(algo, String(r()));
    const enc = [h.base16, h.base32, h.toString('sri'), h.toString('base32', true)][(r() * 4) | 0]!;
    const name = names[(r() * names.length) | 0]!;
    const args = [...(r() < 0.5 ? ['--recursive'] : []), algo, enc, name];
    const ref = runRef(root, 'nix-store', ['--print-fixed-path', ...args]);
    assert.equal(ref.status, 0, ref.stderr);
    const ours = sd.print(sd.makeFixedOutputPath({ recursive: args[0] === '--recursive', hash: parseHash(enc, algo), name }));
    assert.equal(ours + '\n', ref.stdout, args.join(' '));
    if (i % 8 === 0) assert.equal(runTix(root, 'nix-store', ['--print-fixed-path', ...args]).stdout, ref.stdout);
  }
  for (const bad of [['sha256', 'zz', 'x'], ['sha256', hashBytes('sha256', 'a').base16, 'a b'], ['sha256', hashBytes('sha256', 'a').base16, 'n'.repeat(212)]]) {
    const ref = runRef(root, 'nix-store', ['--print-fixed-path', ...bad]);
    const tix = runTix(root, 'nix-store', ['--print-fixed-path', ...bad]);
    assert.equal(tix.status, ref.status, bad.join(' '));
    assert.equal(tix.stderr.split('\n')[0], ref.stderr.split('\n')[0], bad.join(' '));
  }
});

/**
 * NAR and hashing against the reference Nix 2.8 on 200+ generated trees:
 * `nix-store --dump` bytes, `nix-hash` (sha256 base16/base32, md5, sha1,
 * sha512, --truncate), restore of the reference NAR, and the tix CLI for
 * the same commands.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, type NixRoot } from '../harness/index.js';
import { dumpPath, hashPath, restorePath } from '../../src/store/index.js';
import { makeTree } from './formats-trees.js';

const N_TREES = 210;
const skip = !haveReference() && 'reference Nix not installed';
let root: NixRoot;
const trees: string[] = [];

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

before(() => {
  root = makeRoot();
  for (let i = 0; i < N_TREES; i++) {
    const p = join(root.dir, `t${i}`);
    makeTree(p, 1000 + i);
    trees.push(p);
  }
});
after(() => root?.cleanup());

test('nix-store --dump: byte-identical NARs; restore of the reference NAR round-trips', { skip }, async () => {
  let bytes = 0;
  for (const [i, t] of trees.entries()) {
    const ref = runRef(root, 'nix-store', ['--dump', t]);
    assert.equal(ref.status, 0, ref.stderr);
    const ours = await collect(dumpPath(t));
    assert.ok(ours.equals(ref.stdoutBytes), `tree ${i}: NAR differs`);
    bytes += ours.length;
    const back = join(root.dir, `restored${i}`);
    await restorePath(back, once(ref.stdoutBytes));
    const again = runRef(root, 'nix-store', ['--dump', back]);
    assert.ok(again.stdoutBytes.equals(ref.stdoutBytes), `tree ${i}: restore changed the tree`);
  }
  assert.ok(bytes > 1_000_000, 'trees should not be trivial');
});

test('nix-hash over all trees equals the reference, in-process and via the tix CLI', { skip }, () => {
  const variants = [['--type', 'sha256'], ['--type', 'sha256', '--base32'], ['--type', 'md5'], ['--type', 'sha1', '--base32'], ['--type', 'sha512'], ['--type', 'sha256', '--truncate', '--base32']];
  for (const v of variants) {
    const ref = runRef(root, 'nix-hash', [...v, ...trees]);
    assert.equal(ref.status, 0, ref.stderr);
    const tix = runTix(root, 'nix-hash', [...v, ...trees]);
    assert.equal(tix.status, 0, tix.stderr);
    assert.equal(tix.stdout, ref.stdout, `nix-hash ${v.join(' ')}`);
  }
  const ref = runRef(root, 'nix-hash', ['--type', 'sha256', ...trees]).stdout.trim().split('\n');
  trees.forEach((t, i) => assert.equal(hashPath(t, 'sha256').hash.base16, ref[i], `tree ${i}`));
});

test('tix nix-store --dump and --restore CLI match the reference', { skip }, () => {
  for (const t of trees.slice(0, 15)) {
    const ref = runRef(root, 'nix-store', ['--dump', t]);
    const tix = runTix(root, 'nix-store', ['--dump', t]);
    assert.equal(tix.status, 0, tix.stderr);
    assert.ok(tix.stdoutBytes.equals(ref.stdoutBytes), `dump ${t}`);
    const dest = `${t}-cli-restored`;
    const r = runTix(root, 'nix-store', ['--restore', dest], { input: ref.stdoutBytes });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(createHash('sha256').update(runRef(root, 'nix-store', ['--dump', dest]).stdoutBytes).digest('hex'),
      createHash('sha256').update(ref.stdoutBytes).digest('hex'));
  }
});

test('nix-hash --flat and conversions match the reference', { skip }, () => {
  const files = trees.filter((_, i) => i % 7 === 0).map((t) => t);
  const flatArgs = ['--flat', '--type', 'sha256', join(root.dir, 't0')];
  const refFlat = runRef(root, 'nix-hash', flatArgs);
  const tixFlat = runTix(root, 'nix-hash', flatArgs);
  assert.equal(tixFlat.status, refFlat.status);
  assert.equal(tixFlat.stdout, refFlat.stdout);
  const hashes = runRef(root, 'nix-hash', ['--type', 'sha256', ...files]).stdout.trim().split('\n');
  for (const conv of ['--to-base32', '--to-base16']) {
    const ref = runRef(root, 'nix-hash', ['--type', 'sha256', conv, ...hashes]);
    const tix = runTix(root, 'nix-hash', ['--type', 'sha256', conv, ...hashes]);
    assert.equal(tix.stdout, ref.stdout, conv);
  }
});

// 2.8's nix-hash lacks --sri/--to-sri (later Nix has them); tix accepts them, and
// the answers must equal 2.8's own SRI printers, `nix hash path|to-sri --sri`.
test('nix-hash --sri and --to-sri agree with the reference nix hash --sri', { skip }, () => {
  const xp = ['--extra-experimental-features', 'nix-command'];
  for (const t of trees.slice(0, 5)) {
    const ref = runRef(root, 'nix', [...xp, 'hash', 'path', '--sri', '--type', 'sha512', t]);
    const tix = runTix(root, 'nix-hash', ['--sri', '--type', 'sha512', t]);
    assert.equal(ref.status, 0, ref.stderr);
    assert.equal(tix.stdout, ref.stdout, `--sri ${t}`);
  }
  const hashes = runRef(root, 'nix-hash', ['--type', 'sha256', '--base32', ...trees.slice(0, 5)]).stdout.trim().split('\n');
  const ref = runRef(root, 'nix', [...xp, 'hash', 'to-sri', '--type', 'sha256', ...hashes]);
  const tix = runTix(root, 'nix-hash', ['--type', 'sha256', '--to-sri', ...hashes]);
  assert.equal(ref.status, 0, ref.stderr);
  assert.equal(tix.stdout, ref.stdout, '--to-sri');
});

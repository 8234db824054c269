/**
 * Hashing modulo self-references (spec §7.4) against the reference's
 * `nix store make-content-addressed`: build a two-output derivation whose
 * `out` refers to itself and to `dev`, let the reference rewrite both, and
 * recompute the new paths and narHash with tix's Rewriter/hashModulo.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { haveReference, makeRoot, runRef } from '../harness/index.js';
import { StoreDir, hashModulo, rewriteStream, parseHash } from '../../src/formats/index.js';
import { dumpPathSync, hashPath } from '../../src/store/index.js';

const skip = !haveReference() && 'reference Nix not installed';
const root = makeRoot();
after(() => root.cleanup());

const EXPR = `derivation { name = "multi"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" ];
  args = [ "-c" "/bin/mkdir $out $dev; echo $dev > $out/devpath; echo dev > $dev/file; echo $out > $out/self; echo $out$out > $out/twice" ]; }`;

function narOf(p: string, rewrites: [string, string][] = []): Uint8Array[] {
  let chunks: Iterable<Uint8Array> = [...dumpPathSync(p, 1 << 16)].map((c) => c.slice());
  for (const [from, to] of rewrites) chunks = [...rewriteStream(chunks, from, to)];
  return [...chunks];
}

test('make-content-addressed paths and narHash recompute (self and other references)', { skip }, () => {
  const file = join(root.dir, 'multi.nix');
  writeFileSync(file, EXPR);
  const built = runRef(root, 'nix-build', [file, '--no-out-link']);
  assert.equal(built.status, 0, built.stderr);
  const out = built.stdout.trim().split('\n').find((l) => l.endsWith('-multi'));
  const dev = runRef(root, 'nix-store', ['-q', '--references', out!]).stdout.trim().split('\n').find((l) => l.endsWith('-multi-dev'));
  assert.ok(dev !== undefined && out !== undefined);
  const mca = runRef(root, 'nix', ['store', 'make-content-addressed', out!]);
  assert.equal(mca.status, 0, mca.stderr);
  const rewrites = new Map([...mca.stderr.matchAll(/rewriting '([^']+)' to '([^']+)'/g)].map((m) => [m[1]!, m[2]!]));
  const sd = new StoreDir(root.storeDir);
  const hp = (p: string): string => sd.parse(p).hashPart;

  // dev: no references, so a plain source path over its NAR
  const newDev = sd.makeFixedOutputPath({ recursive: true, hash: hashPath(dev!).hash, name: 'multi-dev' });
  assert.equal(sd.print(newDev), rewrites.get(dev!));

  // out: rewrite dev, then hash modulo its own old hash part
  const rewritten = narOf(out!, [[hp(dev!), newDev.hashPart]]);
  const m = hashModulo(rewritten, hp(out!));
  assert.ok(m.matches.length >= 3, 'self references found');
  const newOut = sd.makeFixedOutputPath({ recursive: true, hash: m.hash, name: 'multi', references: [newDev], hasSelfReference: true });
  assert.equal(sd.print(newOut), rewrites.get(out!));

  // narHash of the new path: the self hash part rewritten to the new one
  const final = [...rewriteStream(rewritten, hp(out!), newOut.hashPart)];
  const narHash = createHash('sha256');
  for (const c of final) narHash.update(c);
  const info = JSON.parse(runRef(root, 'nix', ['path-info', '--json', sd.print(newOut)]).stdout)[0];
  assert.equal(narHash.digest('hex'), parseHash(info.narHash).base16);
  // chunking must not matter
  const oneByte = rewritten.flatMap((c) => [...c].map((x) => new Uint8Array([x])));
  assert.ok(hashModulo(oneByte, hp(out!)).hash.equals(m.hash));
});

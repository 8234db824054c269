/**
 * `nix store ping`, `nix store repair`, `nix store optimise` and `nix key
 * generate-secret` / `convert-secret-to-public` against the reference Nix 2.8
 * on the same root: same stdout bytes, stderr and status, usage errors
 * included; keys made by either side convert to the same public key on both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, ok, sameOnRoot } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

const NIX = `derivation { name = "r"; system = builtins.currentSystem; builder = "/bin/bash"; args = [ "-c" "echo repaired > $out" ]; }`;

test('nix store ping and nix store optimise agree with 2.8', { skip, timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    sameOnRoot(root, 'nix', ['store', 'ping']);
    sameOnRoot(root, 'nix', ['store', 'ping', '--store', 'local']);
    sameOnRoot(root, 'nix', ['store', 'ping', '--store', `unix://${root.dir}/no-socket`]);
    sameOnRoot(root, 'nix', ['store', 'ping', 'extra']);
    sameOnRoot(root, 'nix', ['store', 'optimise']);
    sameOnRoot(root, 'nix', ['store', 'optimise', 'extra']);
  } finally {
    root.cleanup();
  }
});

test('nix store repair checks and repairs like 2.8', { skip, timeout: 180_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'r.nix'), NIX);
    const drv = ok(runRef(root, 'nix-instantiate', ['r.nix']), 'instantiate').trim();
    const out = ok(runRef(root, 'nix-store', ['-r', drv]), 'build').trim();
    sameOnRoot(root, 'nix', ['store', 'repair', out]);
    sameOnRoot(root, 'nix', ['store', 'repair', drv]);
    for (const [side, run] of [['ref', runRef], ['tix', runTix]] as const) {
      chmodSync(out, 0o644);
      writeFileSync(out, 'corrupted\n');
      const r = run(root, 'nix', ['store', 'repair', drv]);
      assert.equal(r.status, 0, `${side}: ${r.stderr}`);
      assert.match(r.stderr, /is corrupted or missing!/, side);
      assert.equal(readFileSync(out, 'utf8'), 'repaired\n', `${side} restored the contents`);
    }
  } finally {
    root.cleanup();
  }
});

test('nix key generate-secret / convert-secret-to-public agree with 2.8', { skip, timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    sameOnRoot(root, 'nix', ['key', 'generate-secret']);
    sameOnRoot(root, 'nix', ['key', 'generate-secret', '--key-name']);
    sameOnRoot(root, 'nix', ['key', 'convert-secret-to-public'], { input: 'not-a-key' });
    sameOnRoot(root, 'nix', ['key', 'convert-secret-to-public', 'extra'], { input: '' });
    for (const gen of [runRef, runTix]) {
      const secret = ok(gen(root, 'nix', ['key', 'generate-secret', '--key-name', 'cache.example-1']), 'generate');
      assert.match(secret, /^cache\.example-1:[A-Za-z0-9+/]{86}==$/);
      const pub = sameOnRoot(root, 'nix', ['key', 'convert-secret-to-public'], { input: secret }).stdout;
      assert.match(pub, /^cache\.example-1:[A-Za-z0-9+/]{43}=$/);
    }
  } finally {
    root.cleanup();
  }
});

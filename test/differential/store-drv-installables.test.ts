/**
 * A `.drv` installable means the derivation's outputs (2.8, `Realise::Nothing`)
 * for every store-path command: `nix path-info`, `nix store verify`,
 * `nix store dump-path` and `nix store delete`, whether the outputs are built
 * or not, and next to opaque paths that are not valid. Same stdout bytes,
 * stderr and status as the reference on the same root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, ok, sameOnRoot } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

const NIX = `let mk = n: derivation { name = n; system = builtins.currentSystem; builder = "/bin/bash"; args = [ "-c" "echo \${n} > $out" ]; };
in { built = mk "built"; unbuilt = mk "unbuilt"; }`;

test('store-path commands take a .drv installable as its outputs, like 2.8', { skip, timeout: 180_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'd.nix'), NIX);
    const built = ok(runRef(root, 'nix-instantiate', ['d.nix', '-A', 'built']), 'instantiate').trim();
    const unbuilt = ok(runRef(root, 'nix-instantiate', ['d.nix', '-A', 'unbuilt']), 'instantiate').trim();
    const out = ok(runRef(root, 'nix-store', ['-r', built]), 'build').trim();
    const invalid = out.replace(/-built$/, '-nothere');
    for (const cmd of [['path-info'], ['store', 'verify'], ['store', 'verify', '-r'], ['store', 'dump-path']]) {
      sameOnRoot(root, 'nix', [...cmd, built]);
      sameOnRoot(root, 'nix', [...cmd, unbuilt]);
      sameOnRoot(root, 'nix', [...cmd, invalid]);
    }
    // With several paths 2.8 reports them from a thread pool: compare the lines, not their order.
    const r = runRef(root, 'nix', ['store', 'verify', built, unbuilt]);
    const t = runTix(root, 'nix', ['store', 'verify', built, unbuilt]);
    assert.equal(t.status, r.status, t.stderr);
    assert.deepEqual(t.stderr.split('\n').sort(), r.stderr.split('\n').sort());
    // Deleting the built drv's installable deletes its output, not the .drv.
    for (const run of [runRef, runTix]) {
      if (!existsSync(out)) ok(runRef(root, 'nix-store', ['-r', built]), 'rebuild');
      const r = run(root, 'nix', ['store', 'delete', built]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(existsSync(out), false, 'output deleted');
      assert.equal(existsSync(built), true, '.drv kept');
      assert.match(r.stdout, /^1 store paths deleted/);
    }
  } finally {
    root.cleanup();
  }
});

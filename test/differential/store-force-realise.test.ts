/**
 * `nix-store -q --force-realise` against the reference Nix 2.8: each side
 * starts with the derivation's outputs deleted, realises it while querying, and prints the same stdout, stderr (build log, "--add-root"
 * warning) and status. Queries 2.8 does not realise for (`--tree`,
 * `--deriver`) must not build; a path that is not valid cannot be created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, type NixRoot, ok } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

const NIX = `derivation { name = "fr"; system = builtins.currentSystem; builder = "/bin/bash"; outputs = [ "out" "dev" ];
  args = [ "-c" "echo building now; echo hi > $out; echo $out > $dev" ]; }`;

/** Delete the derivation's outputs so the next side starts from the unbuilt state. */
function unbuild(root: NixRoot, drv: string): void {
  const outs = ok(runRef(root, 'nix-store', ['-q', '--outputs', drv]), 'outputs').trim().split('\n');
  const live = outs.filter((o) => existsSync(o));
  if (live.length > 0) ok(runRef(root, 'nix-store', ['--delete', ...live]), 'delete outputs');
}

test('nix-store -q --force-realise builds first where 2.8 does', { skip, timeout: 300_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'fr.nix'), NIX);
    const drv = ok(runRef(root, 'nix-instantiate', ['fr.nix']), 'instantiate').trim();
    for (const q of [['--outputs'], ['--references'], ['-R', '--include-outputs'], ['--hash', '--use-output'], ['--size'], ['--graph'], ['--tree'], ['--deriver']]) {
      const args = ['-q', '--force-realise', ...q, drv];
      unbuild(root, drv);
      const r = runRef(root, 'nix-store', args);
      unbuild(root, drv);
      const t = runTix(root, 'nix-store', args);
      const what = `nix-store ${args.join(' ')}`;
      assert.equal(t.status, r.status, `${what}: status (tix stderr: ${t.stderr})`);
      assert.equal(t.stdout, r.stdout, `${what}: stdout`);
      assert.equal(t.stderr, r.stderr.replaceAll('/usr/bin/nix-store', 'nix-store'), `${what}: stderr`);
    }
  } finally {
    root.cleanup();
  }
});

test('nix-store -q --force-realise of a path that is not valid fails like 2.8', { skip, timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    const missing = join(root.storeDir, '00000000000000000000000000000000-missing');
    const r = runRef(root, 'nix-store', ['-qf', '-R', missing]);
    const t = runTix(root, 'nix-store', ['-qf', '-R', missing]);
    assert.equal(t.status, r.status);
    assert.equal(t.stderr, r.stderr);
    assert.equal(existsSync(missing), false);
  } finally {
    root.cleanup();
  }
});

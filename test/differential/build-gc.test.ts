/**
 * A garbage collection that runs while a build is in progress must keep the
 * build's `.drv` and its input sources (2.8's DerivationGoal temp-roots the
 * drv path; its closure holds the inputs), even when the process that wrote
 * the `.drv` has exited. Checked with tix's and the reference's collector.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TIX_BIN, haveReference, makeRoot, runRef, runTix, type NixRoot, type RunResult } from '../harness/index.js';

function buildNix(dir: string): string {
  return `derivation {
  name = "waits-for-gc"; system = builtins.currentSystem; builder = "/bin/bash";
  script = builtins.toFile "waits-script" ''
    : > ${dir}/started
    for ((i = 0; i < 600; i++)); do [ -e ${dir}/go ] && break; /bin/sleep 0.05; done
    echo done > $out
  '';
  args = [ "-c" "source $script" ];
}
`;
}

async function waitFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function realise(root: NixRoot, drv: string): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(TIX_BIN, 'nix-store'), ['-r', drv], { env: root.env, cwd: root.dir });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.resume();
    p.on('close', (code) => resolve({ status: code ?? -1, stderr }));
  });
}

for (const collector of ['tix', 'reference'] as const) {
  test(`GC by ${collector} during a build keeps the .drv and its inputs`, { timeout: 120_000, skip: collector === 'reference' && !haveReference() }, async () => {
    const root = makeRoot();
    try {
      writeFileSync(join(root.dir, 'b.nix'), buildNix(root.dir));
      const inst = runTix(root, 'nix-instantiate', ['b.nix']);
      assert.equal(inst.status, 0, inst.stderr);
      const drv = inst.stdout.trim();
      const script = runTix(root, 'nix-store', ['-q', '--references', drv]).stdout.trim().split('\n');
      assert.equal(script.length, 1, 'one input source');
      const building = realise(root, drv);
      await waitFor(join(root.dir, 'started'), 60_000);
      const gc: RunResult = collector === 'tix' ? runTix(root, 'nix-store', ['--gc']) : runRef(root, 'nix-store', ['--gc']);
      assert.equal(gc.status, 0, gc.stderr);
      assert.ok(existsSync(drv), `${drv} was collected during its build`);
      assert.ok(existsSync(script[0]!), 'the input source was collected during the build');
      writeFileSync(join(root.dir, 'go'), '');
      const r = await building;
      assert.equal(r.status, 0, r.stderr);
    } finally {
      writeFileSync(join(root.dir, 'go'), '');
      root.cleanup();
    }
  });
}

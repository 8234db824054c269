/**
 * Derivations: `nix-instantiate eval-drv/drvs.nix` (≥60 derivations: plain,
 * dependent, multi-output, fixed-output flat/recursive/every hash form,
 * structured attrs, path and toFile inputs, filterSource/builtins.path
 * sources, nested recurseForDerivations) must print the same `.drv` paths
 * as Nix 2.8 and leave byte-identical `.drv` files and sources in the store.
 * Both run in a root at the same directory, one after the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, REPO_ROOT, type RunResult } from '../harness/index.js';

interface Snapshot {
  run: RunResult;
  files: Map<string, string>;
}

function snapshot(storeDir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const e of readdirSync(storeDir)) {
    if (e.startsWith('.')) continue;
    files.set(e, e.endsWith('.drv') ? readFileSync(join(storeDir, e), 'latin1') : '');
  }
  return files;
}

function runIn(dir: string, which: 'ref' | 'tix', args: string[]): Snapshot {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    const src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    copyFileSync(join(REPO_ROOT, 'test/differential/eval-drv/drvs.nix'), join(src, 'drvs.nix'));
    writeFileSync(join(src, 'extra.txt'), 'fixture\n');
    const run = (which === 'ref' ? runRef : runTix)(root, 'nix-instantiate', args, { cwd: src });
    return { run, files: snapshot(root.storeDir) };
  } finally {
    root.cleanup();
  }
}

test('nix-instantiate: .drv paths and files identical to Nix 2.8', { skip: !haveReference() && 'reference Nix not installed', timeout: 300_000 }, () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-drv-'));
  try {
    const dir = join(base, 'r');
    const ref = runIn(dir, 'ref', ['drvs.nix']);
    const tix = runIn(dir, 'tix', ['drvs.nix']);
    assert.equal(ref.run.status, 0, ref.run.stderr);
    const lines = ref.run.stdout.trim().split('\n');
    assert.ok(lines.length >= 60, `only ${lines.length} derivations`);
    assert.equal(tix.run.stderr.split('\n')[0], ref.run.stderr.split('\n')[0]);
    assert.deepEqual(tix.run.stdout.trim().split('\n'), lines);
    assert.equal(tix.run.status, 0);
    assert.deepEqual([...tix.files.keys()].sort(), [...ref.files.keys()].sort());
    for (const [name, text] of ref.files) assert.equal(tix.files.get(name), text, `contents of ${name}`);
    console.log(`eval-drv: ${lines.length} derivations, ${ref.files.size} store objects identical`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('nix-instantiate --eval: drvPath/outPath of each derivation identical (read-only mode)', { skip: !haveReference() && 'reference Nix not installed', timeout: 300_000 }, () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-drv-'));
  try {
    const dir = join(base, 'r');
    // d18/d65 depend on a drvPath's closure, which read-only 2.8 cannot compute (the .drv is not in the store).
    const expr = 'with builtins; let d = removeAttrs (import ./drvs.nix) [ "d18" "d65" ]; in mapAttrs (n: v: if v ? drvPath then [ v.drvPath v.outPath ] else attrNames v) d';
    const args = ['--eval', '--strict', '-E', expr];
    const ref = runIn(dir, 'ref', args);
    const tix = runIn(dir, 'tix', args);
    assert.equal(ref.run.status, 0, ref.run.stderr);
    assert.equal(tix.run.stdout, ref.run.stdout);
    // Read-only mode writes nothing to the store.
    assert.deepEqual([...tix.files.keys()], []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

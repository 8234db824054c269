/**
 * `nix-store --print-env` and `--repair-path` against the reference Nix 2.8:
 * same stdout bytes, stderr and status on the same store root, including the
 * usage errors; repair of a corrupted output restores its contents on both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, type NixRoot, type RunResult } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed: ${r.stderr}`);
  return r.stdout;
}

function same(root: NixRoot, args: string[]): RunResult {
  const r = runRef(root, 'nix-store', args);
  const t = runTix(root, 'nix-store', args);
  const what = `nix-store ${args.join(' ')}`;
  assert.equal(t.status, r.status, `${what}: status (tix stderr: ${t.stderr})`);
  assert.deepEqual(t.stdoutBytes, r.stdoutBytes, `${what}: stdout`);
  assert.equal(t.stderr, r.stderr.replaceAll('/usr/bin/nix-store', 'nix-store'), `${what}: stderr`);
  return t;
}

// Quotes, `$`, a non-ASCII value and an argument with spaces exercise the escaping.
const DRV_NIX = `derivation {
  name = "env-test"; system = builtins.currentSystem; builder = "/bin/bash";
  args = [ "-c" "echo hello > $out; echo 'it''s built'" ];
  quoted = "it's \\"q\\" $HOME caf\\u00e9";
  empty = "";
  multi = "line1\\nline2";
}`;

test('nix-store --print-env prints the same environment and errors as 2.8', { skip, timeout: 120_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'a.nix'), DRV_NIX);
    const drv = ok(runRef(root, 'nix-instantiate', ['a.nix']), 'instantiate').trim();
    same(root, ['--print-env', drv]);
    same(root, ['--print-env']);
    same(root, ['--print-env', drv, drv]);
    same(root, ['--print-env', '--foo', drv]);
    same(root, ['--print-env', '/etc/passwd']);
    same(root, ['--print-env', drv.replace(/.\.drv$/, 'x.drv').replace(/-env-test/, '-env-tesx')]);
  } finally {
    root.cleanup();
  }
});

test('nix-store --repair-path checks and repairs outputs like 2.8', { skip, timeout: 180_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'a.nix'), DRV_NIX);
    const drv = ok(runRef(root, 'nix-instantiate', ['a.nix']), 'instantiate').trim();
    const out = ok(runRef(root, 'nix-store', ['-r', drv]), 'build').trim();
    same(root, ['--repair-path', out]);
    same(root, ['--repair-path', drv]);
    same(root, ['--repair-path', '--foo']);
    same(root, ['--repair-path', out.replace(/-env-test$/, '-env-tesx')]);
    for (const [side, run] of [['ref', runRef], ['tix', runTix]] as const) {
      chmodSync(out, 0o644);
      writeFileSync(out, 'corrupted\n');
      const r = run(root, 'nix-store', ['--repair-path', out]);
      assert.equal(r.status, 0, `${side}: ${r.stderr}`);
      assert.match(r.stderr, /is corrupted or missing!/, side);
      assert.match(r.stderr, /repairing outputs of/, side);
      assert.equal(readFileSync(out, 'utf8'), 'hello\n', `${side} restored the contents`);
      ok(runRef(root, 'nix-store', ['--verify-path', out]), `${side}: verify-path after repair`);
    }
  } finally {
    root.cleanup();
  }
});

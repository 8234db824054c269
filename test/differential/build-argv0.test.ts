/**
 * The builder's argv[0] is its base name, as in 2.8 (unsandboxed): what
 * `$0` and bash's own error messages show. Same stderr and status as the
 * reference for a builder that prints `$0` and then fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

test('builders see their base name as argv[0], like 2.8', { skip, timeout: 120_000 }, () => {
  const results: { status: number; stderr: string }[] = [];
  for (const run of [runRef, runTix]) {
    const root = makeRoot();
    try {
      writeFileSync(join(root.dir, 'a.nix'), 'derivation { name = "argv0"; system = builtins.currentSystem; builder = "/bin/bash"; args = [ "-c" "echo zero=$0; no-such-command-here" ]; }');
      const r = run(root, 'nix-build', ['a.nix', '--no-out-link']);
      results.push({ status: r.status, stderr: r.stderr.replaceAll(root.dir, '<root>').replace(/[a-z0-9]{32}-/g, '<hash>-') });
    } finally {
      root.cleanup();
    }
  }
  const [ref, tix] = results as [{ status: number; stderr: string }, { status: number; stderr: string }];
  assert.match(ref.stderr, /zero=bash\nbash: line 1: no-such-command-here: command not found/);
  assert.equal(tix.status, ref.status);
  assert.equal(tix.stderr, ref.stderr);
});

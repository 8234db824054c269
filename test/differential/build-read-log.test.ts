/**
 * Stored build logs read back (`nix-store --read-log`/`-l`, `nix log`) under
 * the reference Nix 2.8 and tix: each side builds in a fresh root at the same
 * directory, then both read that root's logs (so each reads the logs the
 * other wrote), by `.drv`, by output path and through the result symlink, and
 * ask for a log that does not exist. stdout, stderr and status must agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runIn, runRef, REF_BIN, TIX_BIN, type NixRoot } from '../harness/index.js';

const NIX = `
let mk = name: script: derivation { inherit name; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" script ]; };
in {
  a = mk "a" "echo line one; echo to stderr >&2; printf 'no newline'; echo > $out";
  unbuilt = mk "unbuilt" "echo > $out";
}
`;

function readers(root: NixRoot, drv: string, out: string, unbuilt: string): Array<[string, string[]]> {
  return [
    ['nix-store', ['--read-log', drv]],
    ['nix-store', ['-l', out]],
    ['nix-store', ['-l', join(root.dir, 'result')]],
    ['nix', ['log', out]],
    ['nix', ['log', drv]],
    ['nix-store', ['-l', unbuilt]],
    ['nix', ['log', unbuilt]],
  ];
}

function readAll(builder: string, dir: string): Map<string, string[]> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    writeFileSync(join(dir, 'cases.nix'), NIX);
    const built = runIn(builder, root, 'nix-build', ['cases.nix', '-A', 'a'], { timeoutMs: 60_000 });
    assert.equal(built.status, 0, built.stderr);
    const out = built.stdout.trim();
    const drv = runRef(root, 'nix-instantiate', ['cases.nix', '-A', 'a']).stdout.trim();
    const unbuilt = runRef(root, 'nix-instantiate', ['cases.nix', '-A', 'unbuilt']).stdout.trim();
    const results = new Map<string, string[]>();
    for (const [prog, args] of readers(root, drv, out, unbuilt)) {
      const key = normalise(`${prog} ${args.join(' ')}`, root);
      results.set(key, [REF_BIN, TIX_BIN].map((bin) => {
        const r = runIn(bin, root, prog, args, { timeoutMs: 60_000 });
        return normalise(`status ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`, root);
      }));
    }
    return results;
  } finally {
    root.cleanup();
  }
}

test('stored build logs read back as in Nix 2.8', { skip: !haveReference() ? 'no reference nix' : false, timeout: 300_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-readlog-'));
  try {
    for (const [side, builder] of [['built by the reference', REF_BIN], ['built by tix', TIX_BIN]] as const) {
      for (const [cmd, [ref, tix]] of readAll(builder, join(base, 'r'))) {
        await t.test(`${side}: ${cmd}`, () => {
          // The log itself, not two equal errors.
          if (!cmd.includes('-unbuilt')) assert.match(ref, /line one\nto stderr\nno newline/);
          assert.equal(tix, ref);
        });
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/**
 * Build modes and scheduler flags against the reference Nix 2.8: `--repair`
 * (corrupt outputs are checked, rebuilt at a scratch path and put back, with
 * self-references rewritten), `--check` on invalid outputs (an error of the
 * whole build), `--keep-going` with mixed failures (the exit status bitmask
 * 100|1 timeout|2 hash mismatch|8 check mismatch), `--cores`, `-j0`,
 * `--max-silent-time`. Each case runs in fresh roots at the same directory;
 * compared: exit status, stdout, stderr lines (sorted: with -k, the order of
 * concurrent failures is not part of the contract), the registrations and
 * the reference's `--verify --check-contents` of the result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runIn, runRef, REF_BIN, TIX_BIN, type NixRoot } from '../harness/index.js';

const NIX = `
let mk = name: script: attrs: derivation ({ inherit name; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" (script + "\\n:") ]; } // attrs);
in rec {
  plain = mk "plain" "echo hello > $out" { };
  selfref = mk "selfref" "/bin/mkdir $out; echo $out > $out/me; /bin/ln -s $out/me $out/link" { };
  user = mk "user" "echo \${plain} > $out" { };
  cores = mk "cores" "echo $NIX_BUILD_CORES > $out" { };
  slow = mk "slow" "echo start; /bin/sleep 30" { };
  quietSlow = mk "quietslow" "/bin/sleep 30" { };
  fixedBad = mk "fixedbad" "echo hi > $out" { outputHashAlgo = "sha256"; outputHash = "0000000000000000000000000000000000000000000000000000"; };
  failing = mk "failing" "exit 3" { };
  det = mk "det" "echo same > $out" { };
  nondet = mk "nondet" "echo $RANDOM$RANDOM$RANDOM > $out" { };
}
`;

interface Case {
  id: string;
  /** Attributes built first by the reference. */
  prebuild?: string[];
  /** Outputs (attributes) whose contents are overwritten before the command. */
  corrupt?: string[];
  args: string[];
}

const CASES: Case[] = [
  { id: 'repair corrupt output', prebuild: ['plain'], corrupt: ['plain'], args: ['-A', 'plain', '--repair'] },
  { id: 'repair self-reference', prebuild: ['selfref'], corrupt: ['selfref'], args: ['-A', 'selfref', '--repair'] },
  { id: 'repair dependency', prebuild: ['user'], corrupt: ['plain'], args: ['-A', 'user', '--repair'] },
  { id: 'repair good output', prebuild: ['plain'], args: ['-A', 'plain', '--repair'] },
  { id: 'repair unbuilt', args: ['-A', 'plain', '--repair'] },
  { id: 'check invalid is fatal', prebuild: ['det'], args: ['-A', 'det', '-A', 'fixedBad', '--check', '-k'] },
  { id: 'check mismatch with -k', prebuild: ['nondet', 'det'], args: ['-A', 'nondet', '-A', 'det', '--check', '-k'] },
  { id: 'timeout+hash+failure -k', args: ['-A', 'slow', '-A', 'fixedBad', '-A', 'failing', '-k', '--timeout', '2'] },
  { id: 'timeout+hash -k', args: ['-A', 'slow', '-A', 'fixedBad', '-k', '--timeout', '2'] },
  { id: 'silent + failure -k -j2', args: ['-A', 'quietSlow', '-A', 'failing', '-k', '-j', '2', '--max-silent-time', '1'] },
  { id: 'cores', args: ['-A', 'cores', '--cores', '3'] },
  { id: 'max-jobs 0', args: ['-A', 'plain', '-j', '0'] },
  { id: 'max-jobs 0 valid', prebuild: ['plain'], args: ['-A', 'plain', '-j0'] },
];

function outPath(root: NixRoot, attr: string): string {
  const r = runRef(root, 'nix-build', ['cases.nix', '-A', attr, '--no-out-link']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function corrupt(path: string): void {
  chmodSync(path, 0o755);
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path);
  writeFileSync(join(path, 'junk'), 'corrupted\n');
}

function dbGroups(dump: string): string[] {
  const lines = dump.split('\n').filter((l) => l !== '');
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const n = Number(lines[i + 4]);
    if (!lines[i]!.endsWith('-nondet')) out.push(lines.slice(i, i + 5 + n).join('\n'));
    i += 5 + n;
  }
  return out.sort();
}

function runCase(bin: string, dir: string, k: Case): string {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    writeFileSync(join(dir, 'cases.nix'), NIX);
    for (const a of k.prebuild ?? []) outPath(root, a);
    for (const a of k.corrupt ?? []) corrupt(outPath(root, a));
    const r = runIn(bin, root, 'nix-build', ['cases.nix', ...k.args, '--no-out-link'], { timeoutMs: 60_000 });
    const stderr = r.stderr.split('\n').filter((l) => l !== '').sort().join('\n');
    const db = dbGroups(runRef(root, 'nix-store', ['--dump-db']).stdout).join('\n');
    const verify = runRef(root, 'nix-store', ['--verify', '--check-contents']);
    return normalise(`status ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${stderr}\n--- db\n${db}\n--- verify ${verify.status}\n${verify.stderr}`, root);
  } finally {
    root.cleanup();
  }
}

test('build modes and flags match the reference Nix 2.8', { skip: !haveReference() ? 'no reference nix' : false, timeout: 300_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-modes-'));
  try {
    for (const k of CASES) {
      const dir = join(base, 'r');
      const ref = runCase(REF_BIN, dir, k);
      const tix = runCase(TIX_BIN, dir, k);
      await t.test(k.id, () => assert.equal(tix, ref));
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/**
 * Build log formats against the reference Nix 2.8: `--log-format
 * internal-json` (the `@nix` event sequence of nix-build, nix-store -r and nix
 * build: realise/builds/copy-paths activities, progress results, build
 * activities, log lines, setPhase, builder `@nix` messages, errors) and `-L`
 * (prefixed lines; `-L` after `--log-format` overrides it, as in 2.8). Each
 * command runs in a fresh root at the same directory. Activity ids are
 * renumbered by first appearance; ANSI escapes in error messages are dropped
 * (2.8 colours the arguments of its messages; tix does not).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runIn, runRef, REF_BIN, TIX_BIN } from '../harness/index.js';

const NIX = `
let mk = name: script: attrs: derivation ({ inherit name; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" (script + "\\n:") ]; } // attrs);
  a = mk "a" "echo building a; echo err >&2; echo > $out" { };
in rec {
  inherit a;
  b = mk "b" "echo b uses \${a}; echo '@nix {\\"action\\":\\"setPhase\\",\\"phase\\":\\"buildPhase\\"}'; echo > $out" { };
  fail = mk "fail" "echo bad; exit 1" { };
  chatty = mk "chatty" "echo '@nix {\\"action\\":\\"msg\\",\\"level\\":0,\\"msg\\":\\"note from builder\\"}'; echo plain; echo > $out" { };
  depfail = mk "depfail" "echo \${fail} > $out" { };
  leaf = i: mk "leaf-\${toString i}" "echo \${toString i} > $out" { };
  wide = mk "wide" "echo \${toString (map leaf [ 4 10 1 2 0 12 3 ])} > $out" { };
}
`;

interface Case {
  id: string;
  prog: string;
  args: string[];
  /** Instantiate this attribute first (with the reference) and pass its drv path. */
  drvOf?: string;
  /** Build these attributes first (reference), so they are valid. */
  prebuild?: string[];
}

const CASES: Case[] = [
  { id: 'nix-build chain json', prog: 'nix-build', args: ['cases.nix', '-A', 'b', '--log-format', 'internal-json', '--no-out-link'] },
  { id: 'nix-build failing json', prog: 'nix-build', args: ['cases.nix', '-A', 'fail', '--log-format', 'internal-json', '--no-out-link'] },
  { id: 'nix-build builder msg json', prog: 'nix-build', args: ['cases.nix', '-A', 'chatty', '--log-format', 'internal-json', '--no-out-link'] },
  { id: 'nix-build builder msg raw', prog: 'nix-build', args: ['cases.nix', '-A', 'chatty', '--no-out-link'] },
  { id: 'nix-build dep fails json', prog: 'nix-build', args: ['cases.nix', '-A', 'depfail', '--log-format', 'internal-json', '--no-out-link'] },
  { id: 'nix-build already valid json', prog: 'nix-build', args: ['cases.nix', '-A', 'b', '--log-format', 'internal-json', '--no-out-link'], prebuild: ['b'] },
  { id: 'nix-build half valid json', prog: 'nix-build', args: ['cases.nix', '-A', 'b', '--log-format', 'internal-json', '--no-out-link'], prebuild: ['a'] },
  { id: 'nix-build build order', prog: 'nix-build', args: ['cases.nix', '-A', 'wide', '--no-out-link'] },
  { id: 'nix-store -r json', prog: 'nix-store', args: ['--log-format', 'internal-json', '-r'], drvOf: 'b' },
  { id: 'nix-store -r missing drv json', prog: 'nix-store', args: ['--log-format', 'internal-json', '-r'], drvOf: 'fail' },
  { id: 'nix build json', prog: 'nix', args: ['build', '-f', 'cases.nix', 'b', '--log-format', 'internal-json', '--no-link'] },
  { id: 'nix build json then -L', prog: 'nix', args: ['build', '-f', 'cases.nix', 'b', '--log-format', 'internal-json', '-L', '--no-link'] },
  { id: 'nix build -L then json', prog: 'nix', args: ['build', '-f', 'cases.nix', 'b', '-L', '--log-format', 'internal-json', '--no-link'] },
  { id: 'nix build -L', prog: 'nix', args: ['build', '-f', 'cases.nix', 'b', '-L', '--no-link'] },
  { id: 'nix build -L failing', prog: 'nix', args: ['build', '-f', 'cases.nix', 'fail', '-L', '--no-link'] },
  { id: 'nix build failing json', prog: 'nix', args: ['--log-format', 'internal-json', 'build', '-f', 'cases.nix', 'fail', '--no-link'] },
];

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Renumber activity ids by first appearance; strip ANSI from messages. */
export function normaliseEvents(text: string): string {
  const ids = new Map<number, number>();
  const renumber = (v: unknown): unknown => {
    if (typeof v !== 'number' || v === 0) return v;
    if (!ids.has(v)) ids.set(v, ids.size + 1);
    return ids.get(v);
  };
  return text
    .split('\n')
    .map((line) => {
      if (!line.startsWith('@nix ')) return line;
      const j = JSON.parse(line.slice(5)) as Record<string, unknown>;
      if ('id' in j) j.id = renumber(j.id);
      if ('parent' in j) j.parent = renumber(j.parent);
      for (const k of ['msg', 'raw_msg']) if (typeof j[k] === 'string') j[k] = (j[k] as string).replace(ANSI, '');
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(j).sort()) sorted[k] = j[k];
      return '@nix ' + JSON.stringify(sorted);
    })
    .join('\n');
}

function runCase(bin: string, dir: string, k: Case): string {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    writeFileSync(join(dir, 'cases.nix'), NIX);
    for (const a of k.prebuild ?? []) assert.equal(runRef(root, 'nix-build', ['cases.nix', '-A', a, '--no-out-link']).status, 0);
    const args = [...k.args];
    if (k.drvOf) {
      const inst = runRef(root, 'nix-instantiate', ['cases.nix', '-A', k.drvOf]);
      assert.equal(inst.status, 0, inst.stderr);
      const drv = inst.stdout.trim();
      // The missing-drv case: the drv path is known, but the derivation is not in this store.
      if (k.id.includes('missing')) {
        runRef(root, 'nix-store', ['--delete', drv]);
      }
      args.push(drv);
    }
    const r = runIn(bin, root, k.prog, args, { timeoutMs: 60_000 });
    return normalise(`status ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${normaliseEvents(r.stderr)}`, root);
  } finally {
    root.cleanup();
  }
}

test('build log formats match the reference Nix 2.8', { skip: !haveReference() ? 'no reference nix' : false, timeout: 300_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-logfmt-'));
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

/**
 * The reference Nix 2.8 clients against tix's daemon, compared with the same
 * clients against the reference daemon (issue 6 acceptance): the same command
 * sequence runs in a fresh root at the same directory for each daemon, and
 * exit codes and normalised outputs must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runRef, type NixRoot } from '../harness/index.js';
import { startNixDaemon } from './daemon-harness.js';

const SIMPLE = `derivation {
  name = "simple"; system = builtins.currentSystem; builder = "/bin/bash";
  src = ./dep.txt;
  args = ["-c" "echo building-log-line; echo \\"$(< $src)\\" > $out"];
}`;
const EXPR = 'derivation { name = "e"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo hi > $out"]; }';

interface Step {
  name: string;
  prog: string;
  args: (v: Record<string, string>) => string[];
  /** Save trimmed stdout under this name for later steps. */
  save?: string;
  /** Post-process stdout before comparing (e.g. sort, drop times). */
  norm?: (s: string) => string;
}

const sortLines = (s: string): string => s.split('\n').filter((l) => l !== '').sort().join('\n');
const dropTimes = (s: string): string => s.replace(/"registrationTime":\d+/g, '"registrationTime":T');

const STEPS: Step[] = [
  { name: 'nix-store --add', prog: 'nix-store', args: () => ['--add', 'f.txt'], save: 'f' },
  { name: 'nix-store --add-fixed', prog: 'nix-store', args: () => ['--add-fixed', 'sha256', 'g.txt'], save: 'g' },
  { name: 'nix-store --add-fixed --recursive', prog: 'nix-store', args: () => ['--add-fixed', '--recursive', 'sha256', 'dir'], save: 'dir' },
  { name: 'nix-instantiate', prog: 'nix-instantiate', args: () => ['simple.nix'], save: 'drv' },
  { name: 'nix-store -q --references', prog: 'nix-store', args: (v) => ['-q', '--references', v.drv!], norm: sortLines },
  { name: 'nix-store -q -R', prog: 'nix-store', args: (v) => ['-q', '-R', v.drv!], norm: sortLines },
  { name: 'nix-store -r .drv', prog: 'nix-store', args: (v) => ['-r', v.drv!], save: 'out' },
  { name: 'nix-store --verify-path', prog: 'nix-store', args: (v) => ['--verify-path', v.out!, v.f!, v.dir!] },
  { name: 'nix-store -q --references out', prog: 'nix-store', args: (v) => ['-q', '--references', v.out!] },
  { name: 'nix store add-path', prog: 'nix', args: () => ['store', 'add-path', 'dir', '--name', 'dir2'] },
  { name: 'nix path-info -r --json', prog: 'nix', args: (v) => ['path-info', '-r', '--json', v.drv!], norm: dropTimes },
  { name: 'nix-build', prog: 'nix-build', args: () => ['simple.nix', '-o', 'result'] },
  { name: 'nix build --expr', prog: 'nix', args: () => ['build', '--impure', '--expr', EXPR, '--no-link', '--json'] },
  { name: 'nix-store --gc --print-dead', prog: 'nix-store', args: () => ['--gc', '--print-dead'], norm: sortLines },
  { name: 'nix-store -q --hash (invalid path)', prog: 'nix-store', args: (v) => ['-q', '--hash', v.out!.replace(/\/[0-9a-z]{32}-/, '/00000000000000000000000000000000-')] },
];

interface Outcome {
  name: string;
  status: number;
  stdout: string;
}

function populate(root: NixRoot): void {
  writeFileSync(join(root.dir, 'f.txt'), 'hello\n');
  writeFileSync(join(root.dir, 'g.txt'), 'fixed\n');
  writeFileSync(join(root.dir, 'dep.txt'), 'dependency\n');
  mkdirSync(join(root.dir, 'dir', 'sub'), { recursive: true });
  writeFileSync(join(root.dir, 'dir', 'a'), 'a');
  writeFileSync(join(root.dir, 'dir', 'sub', 'b'), 'b');
  writeFileSync(join(root.dir, 'simple.nix'), SIMPLE);
}

const stderrs = new Map<string, string>();

async function runScenario(kind: 'ref' | 'tix', dir: string): Promise<Outcome[]> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir, conf: 'trusted-users = root' });
  populate(root);
  const d = await startNixDaemon(kind, root);
  const vars: Record<string, string> = {};
  const out: Outcome[] = [];
  try {
    for (const s of STEPS) {
      const r = runRef(root, s.prog, s.args(vars), { env: { NIX_REMOTE: 'daemon' }, timeoutMs: 120_000 });
      const stdout = normalise(r.stdout.trim(), root);
      if (s.save) vars[s.save] = r.stdout.trim();
      out.push({ name: s.name, status: r.status, stdout: s.norm ? s.norm(stdout) : stdout });
      stderrs.set(s.name, normalise(r.stderr, root));
    }
    return out;
  } finally {
    await d.stop();
    root.cleanup();
  }
}

test('reference clients: tix daemon gives the same results as the reference daemon', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-daemon-'));
  try {
    const ref = await runScenario('ref', join(base, 'r'));
    const tix = await runScenario('tix', join(base, 'r'));
    for (const [i, r] of ref.entries()) {
      assert.deepEqual(tix[i], r, `step '${r.name}'; tix daemon stderr:\n${stderrs.get(r.name)}`);
    }
    // Sanity: the scenario really did something against the reference.
    assert.equal(ref.find((o) => o.name === 'nix-store -r .drv')?.status, 0);
    assert.equal(ref.find((o) => o.name === 'nix-build')?.status, 0);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

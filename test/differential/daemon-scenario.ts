/**
 * The command sequence of the daemon scenario (reference clients), shared by
 * the differential test and the session recorder (test/fuzz/daemon-record.ts).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NixRoot } from '../harness/index.js';

const SIMPLE = `derivation {
  name = "simple"; system = builtins.currentSystem; builder = "/bin/bash";
  src = ./dep.txt;
  args = ["-c" "echo building-log-line; echo \\"$(< $src)\\" > $out"];
}`;
const EXPR = 'derivation { name = "e"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo hi > $out"]; }';

export interface Step {
  name: string;
  prog: string;
  args: (v: Record<string, string>) => string[];
  /** Save trimmed stdout under this name for later steps. */
  save?: string;
  /** Post-process stdout before comparing (e.g. sort, drop times). */
  norm?: (s: string) => string;
  /** Run just before the command (e.g. corrupt a store file). */
  prepare?: (v: Record<string, string>) => void;
  /** Compare the normalised stderr too. */
  stderr?: boolean;
}

/** The same name with a hash part no path has. */
const invalid = (p: string): string => p.replace(/\/[0-9a-z]{32}-/, '/00000000000000000000000000000000-');
const sortLines = (s: string): string => s.split('\n').filter((l) => l !== '').sort().join('\n');
const dropTimes = (s: string): string => s.replace(/"registrationTime":\d+/g, '"registrationTime":T');

export const STEPS: Step[] = [
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
  { name: 'nix-store --check-validity --print-invalid', prog: 'nix-store', args: (v) => ['--check-validity', '--print-invalid', v.out!, invalid(v.out!)] },
  { name: 'nix-store --dump-db out', prog: 'nix-store', args: (v) => ['--dump-db', v.out!] },
  { name: 'nix store dump-path', prog: 'nix', args: (v) => ['store', 'dump-path', v.out!] },
  { name: 'nix-store -l', prog: 'nix-store', args: (v) => ['-l', v.drv!] },
  { name: 'nix store verify -r', prog: 'nix', args: (v) => ['store', 'verify', '-r', v.out!, v.f!], stderr: true },
  { name: 'nix-store --verify-path (modified)', prog: 'nix-store', prepare: (v) => corrupt(v.f!), args: (v) => ['--verify-path', v.f!, v.out!], stderr: true },
  { name: 'nix-store -q --hash (invalid path)', prog: 'nix-store', args: (v) => ['-q', '--hash', invalid(v.out!)] },
];

export interface Outcome {
  name: string;
  status: number;
  stdout: string;
  stderr?: string;
}

/** Change a store file behind the store's back (for `--verify-path`). */
function corrupt(path: string): void {
  chmodSync(path, 0o644);
  writeFileSync(path, 'modified\n');
  chmodSync(path, 0o444);
}

/** A step's outcome as the differential tests compare it. */
export function outcomeOf(s: Step, r: { status: number; stdout: string; stderr: string }, norm: (t: string) => string): Outcome {
  const stdout = norm(r.stdout.trim());
  const o: Outcome = { name: s.name, status: r.status, stdout: s.norm ? s.norm(stdout) : stdout };
  if (s.stderr) o.stderr = norm(r.stderr.trim());
  return o;
}

export function populate(root: NixRoot): void {
  writeFileSync(join(root.dir, 'f.txt'), 'hello\n');
  writeFileSync(join(root.dir, 'g.txt'), 'fixed\n');
  writeFileSync(join(root.dir, 'dep.txt'), 'dependency\n');
  mkdirSync(join(root.dir, 'dir', 'sub'), { recursive: true });
  writeFileSync(join(root.dir, 'dir', 'a'), 'a');
  writeFileSync(join(root.dir, 'dir', 'sub', 'b'), 'b');
  writeFileSync(join(root.dir, 'simple.nix'), SIMPLE);
}


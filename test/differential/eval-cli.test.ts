/**
 * Command lines of `nix-instantiate` and `nix eval` run as real processes
 * under the reference Nix 2.8 and tix (same root directory, one after the
 * other): stdout and exit status must agree. Covers the flags of issue 4
 * (--eval/--strict/--json/--xml/--no-location/--parse/-E/-A/--arg/--argstr/
 * -I/--find-file/--add-root/--read-write-mode, stdin, file arguments) and
 * `nix eval` (--expr/--file/--json/--raw/--impure/attribute paths).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { haveReference, makeRoot, REF_BIN, TIX_BIN, type NixRoot } from '../harness/index.js';

interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

function runAsync(bin: string, root: NixRoot, c: Cmd, cwd: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(join(bin, c.prog), c.args, { env: root.env, cwd });
    const so: Buffer[] = [];
    const se: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => so.push(d));
    p.stderr.on('data', (d: Buffer) => se.push(d));
    p.stdin.end(c.input ?? '');
    p.on('close', (code) => resolve({ status: code ?? 128, stdout: Buffer.concat(so).toString('utf8'), stderr: Buffer.concat(se).toString('utf8') }));
  });
}

type Cmd = { prog: string; args: string[]; input?: string };

const CMDS: Cmd[] = [
  { prog: 'nix-instantiate', args: ['--eval', '-E', '1 + 2'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', '{ a = 1 + 1; b = x: x; c = [ (1 + 1) ]; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', '{ a = 1 + 1; b = x: x; c = [ (1 + 1) ]; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--json', '-E', '{ a = [ 1 "x" null ]; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--json', '-E', '{ a = 1 + 1; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--json', '--strict', '-E', '{ a = 1 + 1; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--xml', '-E', '{ a = 1; f = { x, y ? 1, ... }: x; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--xml', '--no-location', '--strict', '-E', '{ a = 1; f = { x, y ? 1, ... }: x; l = [ true null 1.5 "s" ]; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--xml', 'f.nix'] },
  { prog: 'nix-instantiate', args: ['--parse', '-E', 'x: x.a or { b = 1; }'] },
  { prog: 'nix-instantiate', args: ['--parse', 'f.nix'] },
  { prog: 'nix-instantiate', args: ['--parse', '-'], input: 'let a = 1; in a + ./rel' },
  { prog: 'nix-instantiate', args: ['--eval', '-'], input: '[ 1 2 ]' },
  { prog: 'nix-instantiate', args: ['--eval', '-A', 'a.b', '-E', '{ a = { b = 2; }; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '-A', 'a.1', '-E', '{ a = [ 1 2 ]; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '-A', 'a.c', '-E', '{ a = { b = 2; }; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '-A', 'a', '-A', 'b', '-E', '{ a = 1; b = 2; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '-A', '"x.y"', '-E', '{ "x.y" = 3; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', 'x: x', '--arg', 'x', '1'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', '{ x }: x', '--argstr', 'x', 'hello'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', '{ x, y ? 2 }: x + y', '--arg', 'x', '40'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', '{ x }: x'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', '{ x }: x', '--arg', 'y', '1'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', 'fn.nix', '--arg', 'n', '5'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', 'import <sp/hello.nix>', '-I', 'sp=sp'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', '<p>', '-I', 'p=/nonexistent'] },
  { prog: 'nix-instantiate', args: ['--find-file', 'sp', '-I', 'sp=sp'] },
  { prog: 'nix-instantiate', args: ['--find-file', 'nope'] },
  { prog: 'nix-instantiate', args: ['--eval', 'f.nix'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', 'dir'] },
  { prog: 'nix-instantiate', args: ['--eval', 'missing.nix'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', 'throw "boom"'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', '1 +'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '--show-trace', '-E', '{ a = throw "x"; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', 'builtins.trace "msg" 1'] },
  { prog: 'nix-instantiate', args: ['--bogus-flag'] },
  { prog: 'nix-instantiate', args: ['-E', 'derivation { name = "d"; system = "s"; builder = "b"; }'] },
  { prog: 'nix-instantiate', args: ['-E', '{ a = derivation { name = "a"; system = "s"; builder = "b"; outputs = [ "out" "dev" ]; }; b = (derivation { name = "b"; system = "s"; builder = "b"; outputs = [ "out" "dev" ]; }).dev; c = 1; }'] },
  { prog: 'nix-instantiate', args: ['-E', '[ (derivation { name = "l"; system = "s"; builder = "b"; }) ]'] },
  { prog: 'nix-instantiate', args: ['-E', '1'] },
  // genList's cells are made on first use (src/eval/list.ts): unforced ones
  // still print as <CODE>, -A indexes them, and derivations are found in them.
  { prog: 'nix-instantiate', args: ['--eval', '-E', 'builtins.genList (x: x) 3'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', 'let xs = builtins.genList (x: x * 5) 3; in builtins.seq (builtins.elemAt xs 1) xs'] },
  { prog: 'nix-instantiate', args: ['--eval', '-A', '2', '-E', 'builtins.genList (x: x * 5) 4'] },
  { prog: 'nix-instantiate', args: ['--eval', '-A', '1', '-E', 'builtins.genList (x: throw "x") 2'] },
  { prog: 'nix-instantiate', args: ['-E', 'builtins.genList (i: derivation { name = "g${toString i}"; system = "s"; builder = "b"; }) 2'] },
  { prog: 'nix-instantiate', args: ['--add-root', 'gcroot', '-E', 'derivation { name = "r"; system = "s"; builder = "b"; }'] },
  { prog: 'nix-instantiate', args: ['--read-write-mode', '--eval', '-E', 'builtins.readFile (builtins.toFile "w" "written")'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', 'builtins.readFile (builtins.toFile "w" "written")'] },
  { prog: 'nix-instantiate', args: ['--eval', '-E', '"${./f.nix}"'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', 'let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 50000'] },
  { prog: 'nix', args: ['eval', '--expr', '{ a = 1; b.c = [ 1 2 ]; }'] },
  { prog: 'nix', args: ['eval', '--json', '--expr', '{ a = 1; b.c = [ 1 2 ]; }'] },
  { prog: 'nix', args: ['eval', '--raw', '--expr', '"raw text"'] },
  { prog: 'nix', args: ['eval', '--raw', '--expr', '1'] },
  { prog: 'nix', args: ['eval', '--expr', '{ a.b = 5; }', 'a.b'] },
  { prog: 'nix', args: ['eval', '-f', 'f.nix'] },
  { prog: 'nix', args: ['eval', '--file', 'f.nix', 'a'] },
  { prog: 'nix', args: ['eval', '--expr', 'builtins.getEnv "HOME"'] },
  { prog: 'nix', args: ['eval', '--impure', '--expr', 'builtins.getEnv "HOME"'] },
  { prog: 'nix', args: ['eval', '--expr', 'throw "e"'] },
  // Global flags before the command words; `--file` evaluates impurely in 2.8.
  { prog: 'nix', args: ['--option', 'pure-eval', 'true', 'eval', '--expr', '1'] },
  { prog: 'nix', args: ['eval', '--file', 'impure.nix'] },
  { prog: 'nix-instantiate', args: ['--eval', '--show-trace', 'trace.nix'] },
  { prog: 'nix', args: ['eval', '--expr', 'derivation { name = "n"; system = "s"; builder = "b"; }'] },
  { prog: 'nix', args: ['eval', '--json', '--expr', 'x: x'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', 'builtins.fetchurl "file://${toString ./f.nix}"'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', 'builtins.fetchurl { url = "file://${toString ./f.nix}"; sha256 = "0000000000000000000000000000000000000000000000000000"; }'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', 'builtins.fetchTarball "file://${toString ./t.tar}"'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', 'import (builtins.fetchTarball "file://${toString ./t.tar}" + "/v.nix")'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', 'builtins.fetchGit ./repo'] },
  { prog: 'nix-instantiate', args: ['--eval', '--strict', '-E', 'import ((builtins.fetchGit { url = "file://${toString ./repo}"; }) + "/v.nix")'] },
];

function setup(dir: string): void {
  mkdirSync(join(dir, 'w/sp'), { recursive: true });
  mkdirSync(join(dir, 'w/dir'), { recursive: true });
  writeFileSync(join(dir, 'w/f.nix'), '{ a = 1; b = [ "x" ./f.nix ]; c = { d = true; }; }\n');
  writeFileSync(join(dir, 'w/fn.nix'), '{ n, m ? 10 }: n * m\n');
  writeFileSync(join(dir, 'w/impure.nix'), `{ a = builtins.readFile ${join(dir, 'w/fn.nix')}; b = builtins.getEnv "HOME"; c = builtins.currentSystem; }\n`);
  writeFileSync(join(dir, 'w/trace.nix'), 'let f = x: throw "boom"; in f 1\n');
  writeFileSync(join(dir, 'w/dir/default.nix'), '{ fromDir = 1 + 1; }\n');
  writeFileSync(join(dir, 'w/sp/hello.nix'), '"from search path"\n');
  // A tarball and a git repository for the local fetchers (fixed dates: hashes must not vary).
  mkdirSync(join(dir, 'w/tb/top'), { recursive: true });
  writeFileSync(join(dir, 'w/tb/top/v.nix'), '{ fromTarball = true; }\n');
  spawnSync('tar', ['--mtime=2020-01-01', '-cf', join(dir, 'w/t.tar'), '-C', join(dir, 'w/tb'), 'top']);
  const repo = join(dir, 'w/repo');
  mkdirSync(repo);
  writeFileSync(join(repo, 'v.nix'), '"from git"\n');
  const env = { ...process.env, GIT_AUTHOR_DATE: '2021-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2021-01-01T00:00:00Z', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  for (const a of [['init', '-q'], ['add', 'v.nix'], ['commit', '-q', '-m', 'one']]) spawnSync('git', a, { cwd: repo, env });
}

async function run(dir: string, which: 'ref' | 'tix', c: Cmd): Promise<RunResult & { root?: string }> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    setup(dir);
    const r = await runAsync(which === 'ref' ? REF_BIN : TIX_BIN, root, c, join(dir, 'w'));
    const link = join(dir, 'w/gcroot');
    return { ...r, root: existsSync(link) ? readlinkSync(link) : undefined };
  } finally {
    root.cleanup();
  }
}

test('nix-instantiate / nix eval command lines agree with Nix 2.8', { skip: !haveReference() && 'reference Nix not installed', timeout: 300_000 }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-cli-'));
  const bad: string[] = [];
  try {
    // Each command runs under both implementations in the same directory (store
    // paths depend on it), one after the other; commands run 3 at a time.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CMDS.length) {
        const k = next++;
        const c = CMDS[k]!;
        const dir = join(base, `r${String(k).padStart(2, '0')}`);
        let ref = await run(dir, 'ref', c);
        let tix = await run(dir, 'tix', c);
        const agree = () => ref.status === tix.status && ref.stdout === tix.stdout && ref.root === tix.root;
        if (!agree()) {
          // One retry: a loaded machine occasionally makes either side fail for its own reasons.
          ref = await run(dir, 'ref', c);
          tix = await run(dir, 'tix', c);
        }
        const same = agree();
        if (!same) bad.push(`${c.prog} ${c.args.join(' ')}\n  ref(${ref.status}): ${ref.stdout}${ref.stderr.split('\n')[0]}\n  tix(${tix.status}): ${tix.stdout}${tix.stderr.split('\n')[0]}`);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  console.log(`eval-cli: ${CMDS.length} command lines, ${CMDS.length - bad.length} agree`);
  assert.deepEqual(bad, []);
});

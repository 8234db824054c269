/**
 * Recursive-nix benchmarks (issue 8), tix against the reference Nix 2.8 with
 * `recursive-nix` enabled, each in a fresh isolated root, unsandboxed:
 *  1. the upstream scenario (test/differential/recursive-fixtures/recursive.nix), total time;
 *  2. latency of one inner `nix path-info` (timed inside the builder, averaged over N calls);
 *  3. a build that performs 50 inner builds (`nix-build -E` each).
 * Each side uses its own client inside the builder. Prints tix/reference ratios.
 *
 *   node dist/bench/recursive.js [rounds=3]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRoot, runRef, runTix, REF_BIN, REPO_ROOT, TIX_BIN, type NixRoot, type RunResult } from '../test/harness/index.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const FIX = join(REPO_ROOT, 'test/differential/recursive-fixtures');
const BENCH = join(REPO_ROOT, 'bench/recursive-fixtures/bench.nix');
type Host = 'tix' | 'ref';

function run(host: Host, root: NixRoot, prog: string, args: string[], env: NodeJS.ProcessEnv): RunResult {
  const r = (host === 'tix' ? runTix : runRef)(root, prog, args, { env, cwd: FIX, timeoutMs: 600_000 });
  if (r.status !== 0) throw new Error(`${host} ${prog} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  return r;
}

/** Whether tix's `nix path-info`/`store add-path` can use the builder's unix:// socket yet. */
function tixClientSpeaksDaemon(): boolean {
  const root = makeRoot();
  try {
    const r = runTix(root, 'nix', ['path-info', '--all'], { env: { NIX_REMOTE: `unix://${root.dir}/no-socket` } });
    return !/don't know how to open Nix store/.test(r.stderr);
  } finally {
    root.cleanup();
  }
}

const TIX_NEW_CLI_OK = tixClientSpeaksDaemon();

/** The client inside the builder: each side its own, except where tix's `nix` cannot talk to the socket yet. */
function baseEnv(host: Host, needsNewCli: boolean): NodeJS.ProcessEnv {
  const bin = host === 'ref' || (needsNewCli && !TIX_NEW_CLI_OK) ? REF_BIN : TIX_BIN;
  return { TIX_TEST_NIX_BIN: bin, TIX_TEST_PATH: '/usr/bin:/bin' };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function scenario(host: Host, refClient = false): number {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'secret'), 'x\n');
    const unreachable = run(host, root, 'nix', ['store', 'add-path', join(root.dir, 'secret')], {}).stdout.trim();
    const env = { ...baseEnv(host, true), TIX_TEST_UNREACHABLE: unreachable, ...(refClient ? { TIX_TEST_NIX_BIN: REF_BIN } : {}) };
    return timed(() => run(host, root, 'nix-build', [join(FIX, 'recursive.nix'), '--no-out-link'], env));
  } finally {
    root.cleanup();
  }
}

/** ms per inner `nix path-info`, as measured by the builder. */
function pathInfo(host: Host, round: number, refClient = false): number {
  const root = makeRoot();
  try {
    const env = { ...baseEnv(host, true), TIX_BENCH_N: '20', TIX_BENCH_SALT: `r${round}`, ...(refClient ? { TIX_TEST_NIX_BIN: REF_BIN } : {}) };
    const out = run(host, root, 'nix-build', [BENCH, '-A', 'pathInfo', '--no-out-link'], env).stdout.trim().split('\n').pop()!;
    return Number(readFileSync(out, 'utf8').trim()) / 1e6;
  } finally {
    root.cleanup();
  }
}

function manyBuilds(host: Host, round: number, refClient = false): number {
  const root = makeRoot();
  try {
    const env: NodeJS.ProcessEnv = { ...baseEnv(host, refClient), TIX_BENCH_N: '50', TIX_BENCH_SALT: `r${round}` };
    if (refClient) env.TIX_TEST_NIX_BIN = REF_BIN;
    return timed(() => run(host, root, 'nix-build', [BENCH, '-A', 'manyBuilds', '--no-out-link'], env));
  } finally {
    root.cleanup();
  }
}

function compare(name: string, unit: string, f: (h: Host, round: number) => number): void {
  const tix: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    try {
      ref.push(f('ref', i));
      tix.push(f('tix', i));
    } catch (e) {
      console.log(`${name}: round ${i} failed: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}`);
    }
  }
  if (tix.length === 0 || ref.length === 0) return;
  const t = median(tix);
  const r = median(ref);
  console.log(`${name.padEnd(40)} tix ${t.toFixed(1).padStart(8)} ${unit}   ref ${r.toFixed(1).padStart(8)} ${unit}   ratio ${(t / r).toFixed(2)}`);
}

if (!TIX_NEW_CLI_OK) {
  console.log("note: tix's `nix path-info`/`nix store add-path` cannot open unix:// stores yet, so rows marked");
  console.log("      'own clients' run the reference client inside the tix build for those commands.");
}
// "own clients": each side runs its own nix inside the builder (whole-product cost).
// "ref client in both": the reference client inside both builds, so the rows compare
// what the serving side costs (socket, restricted store, shared scheduler, builds).
compare('upstream scenario, own clients', 'ms', (h) => scenario(h));
compare('upstream scenario, ref client in both', 'ms', (h) => scenario(h, true));
compare('one inner path-info, own clients', 'ms', (h, r) => pathInfo(h, r));
compare('one inner path-info, ref client in both', 'ms', (h, r) => pathInfo(h, r, true));
compare('50 inner builds, own clients', 'ms', (h, r) => manyBuilds(h, r));
compare('50 inner builds, ref client in both', 'ms', (h, r) => manyBuilds(h, r, true));

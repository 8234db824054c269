/**
 * Builder benchmarks, tix side by side with the reference Nix 2.8 (issue 5):
 * a graph of 201 trivial derivations (200 leaves + a root), a chain of 100,
 * and a single trivial build. Each scenario runs in a fresh root per run:
 *   - whole process: `nix-build FILE --no-out-link` (evaluation + build);
 *   - build only: `nix-store -r DRV` of drvs instantiated beforehand by the reference.
 * Prints median wall times and the ratio tix/reference (target ≤ 1.0). Each
 * timed command starts after a pause (TIX_BENCH_SETTLE_MS, default 300 ms).
 * Run: `node dist/bench/build.js [runs] [scenario…]`. With `TIX_BENCH_BASE=<dir
 * holding another tix's bin/>` a third column times that tix too, interleaved
 * with the others, for before/after comparisons on a loaded machine.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REF_BIN, TIX_BIN, makeRoot, runRef, type NixRoot } from '../test/harness/index.js';
import { median } from './lib.js';

const SCENARIOS: Record<string, string> = {
  'graph-201': `let leaf = i: derivation { name = "leaf-\${toString i}"; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" "echo \${toString i} > $out" ]; };
    in derivation { name = "root"; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" "echo $deps > $out" ]; deps = builtins.genList leaf 200; }`,
  'chain-100': `let chain = n: derivation { name = "chain-\${toString n}"; system = "x86_64-linux"; builder = "/bin/bash";
      args = [ "-c" "echo $prev \${toString n} > $out" ]; prev = if n == 0 then "" else chain (n - 1); };
    in chain 99`,
  single: `derivation { name = "single"; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" "echo hi > $out" ]; }`,
};

function time(bin: string, root: NixRoot, prog: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(join(bin, prog), args, { env: root.env, cwd: root.dir, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin}/${prog} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

/**
 * A pause before each timed command, so it starts on a machine at rest: a tix
 * run hands its pool child a job and the pool warms up a replacement (about
 * 0.1 s of CPU), which would otherwise run during the next side's command.
 * TIX_BENCH_SETTLE_MS overrides it (0: none).
 */
const SETTLE_MS = Number(process.env.TIX_BENCH_SETTLE_MS ?? 300);

function settle(): void {
  if (SETTLE_MS > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
}

function measure(bin: string, expr: string, mode: 'whole' | 'build'): number {
  const root = makeRoot();
  try {
    const file = join(root.dir, 'bench.nix');
    writeFileSync(file, expr);
    const args = mode === 'whole' ? [file, '--no-out-link'] : ['-r', runRef(root, 'nix-instantiate', [file]).stdout.trim()];
    settle();
    return time(bin, root, mode === 'whole' ? 'nix-build' : 'nix-store', args);
  } finally {
    root.cleanup();
  }
}

function main(): void {
  const runs = Number(process.argv[2] ?? 3);
  const only = process.argv.slice(3);
  const base = process.env.TIX_BENCH_BASE ? join(process.env.TIX_BENCH_BASE, 'bin') : undefined;
  console.log(`runs per cell: ${runs} (median, ms)`);
  console.log(`scenario     mode    reference      tix   ratio${base ? '     base   ratio' : ''}`);
  for (const [name, expr] of Object.entries(SCENARIOS)) {
    if (only.length > 0 && !only.includes(name)) continue;
    for (const mode of ['whole', 'build'] as const) {
      const sides: [string, number[]][] = [[REF_BIN, []], [TIX_BIN, []]];
      if (base) sides.push([base, []]);
      for (let i = 0; i < runs; i++) {
        // Alternate, so every side sees the same machine load; a failed run is reported and skipped.
        for (const [bin, out] of sides) {
          try {
            out.push(measure(bin, expr, mode));
          } catch (e) {
            console.error(`run failed: ${(e as Error).message.split('\n')[0]}`);
          }
        }
      }
      const [r, t, b] = sides.map(([, xs]) => median(xs));
      const cols = [r!.toFixed(0).padStart(9), t!.toFixed(0).padStart(8), `  ${(t! / r!).toFixed(2)}`];
      if (b !== undefined) cols.push(b.toFixed(0).padStart(8), `  ${(b / r!).toFixed(2)}`);
      console.log(`${name.padEnd(12)} ${mode.padEnd(6)} ${cols.join(' ')}`);
    }
  }
}

main();

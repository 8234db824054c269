/**
 * Benchmark (issue 4, spec evaluator.md §6): the evaluator anchors run as
 * whole processes, `nix-instantiate --eval --strict -E …`, tix side by side
 * with the reference Nix 2.8 (alternating runs, median wall time of 5 by
 * default), plus tix's in-process evaluation time (evaluator thread only, no
 * start-up): cold is a fresh worker's first job (median of 3 workers), warm
 * its second and third (as in a pool child that served the same command
 * before).
 *
 * Every timed command, on both sides alike, starts after a pause
 * (TIX_BENCH_SETTLE_MS, default 300 ms; a sleep, not a busy wait), as in
 * bench/build.ts: a tix run hands its job to a pool child and the pool then
 * warms up a replacement, which would otherwise land in the next timing of
 * either side.
 *
 *   node dist/bench/eval.js [--runs N] [--only NAME]
 *   TIX_BENCH_TIX_BIN=<another tix's bin/> (default: this tree's bin/)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEvalJobsInWorker } from '../src/glue/instantiate.js';
import { baseJob, emptyEvalArgs } from '../src/glue/eval-args.js';
import { loadSettings } from '../src/core/index.js';
import { arg, median } from './lib.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REF = process.env.TIX_REF_BIN ?? '/usr/bin';
// Another tix's bin/ (e.g. a copy with its dist/bundle frozen, so a tsc run by
// someone else meanwhile does not make this tree's bundle stale mid-run).
const TIX = process.env.TIX_BENCH_TIX_BIN ?? join(REPO, 'bin');

const fib = (n: number) => `let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib ${n}`;
export const CASES: Array<[string, string]> = [
  ['trivial', '1'],
  ['fib25', fib(25)],
  ['fib30', fib(30)],
  ['sum-genList-1M', "builtins.foldl' builtins.add 0 (builtins.genList (x: x) 1000000)"],
  ['sum-lambda-1M', "builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x * 2) 1000000)"],
  ['listToAttrs-100k', 'let s = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = i; }) 100000); in builtins.length (builtins.attrNames s) + s.k4242'],
  ['str-append-20k', "builtins.stringLength (builtins.foldl' (s: i: s + toString i) \"\" (builtins.genList (x: x) 20000))"],
  ['sort-100k', 'builtins.length (builtins.sort builtins.lessThan (builtins.genList (i: (i * 7919) - ((i * 7919) / 100003) * 100003) 100000))'],
  ['nonTail-rec-10k', 'let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 10000'],
  ['deepseq-tree', 'let t = d: if d == 0 then 1 else { l = t (d - 1); r = t (d - 1); }; in builtins.deepSeq (t 18) 1'],
  ['toJSON-fromJSON-50k', 'let xs = builtins.genList (i: { a = i; b = "s${toString i}"; }) 50000; in builtins.length (builtins.fromJSON (builtins.toJSON xs))'],
  ['regex-match-20k', 'builtins.length (builtins.filter (s: builtins.match "([a-z]+)-([0-9]+)" s != null) (builtins.genList (i: "abc-${toString i}") 20000))'],
];

const SETTLE_MS = Number(process.env.TIX_BENCH_SETTLE_MS ?? 300);

function settle(): void {
  if (SETTLE_MS > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
}

function wall(bin: string, expr: string, env: NodeJS.ProcessEnv): { ms: number; out: string } {
  settle();
  const t = performance.now();
  // Pipes, as a caller reading the output has: EOF must come when the command ends.
  const r = spawnSync(join(bin, 'nix-instantiate'), ['--eval', '--strict', '-E', expr], { env, encoding: 'utf8', timeout: 60_000 });
  const ms = performance.now() - t;
  if (r.error) throw new Error(`${bin} on ${expr}: ${r.error.message} (stdout not closed at exit?)`);
  if (r.status !== 0) throw new Error(`${bin} failed on ${expr}: ${r.stderr}`);
  return { ms, out: r.stdout };
}

async function main(): Promise<void> {
  const runs = Number(arg('--runs', '5'));
  const only = arg('--only', '');
  const dir = mkdtempSync(join(tmpdir(), 'tix-bench-eval-'));
  for (const d of ['store', 'var', 'log', 'etc']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'etc/nix.conf'), 'build-users-group =\nsubstituters =\nexperimental-features = nix-command\n');
  const env = { ...process.env, NIX_STORE_DIR: join(dir, 'store'), NIX_STATE_DIR: join(dir, 'var'), NIX_LOG_DIR: join(dir, 'log'), NIX_CONF_DIR: join(dir, 'etc'), NIX_PATH: '' };
  console.log('case                   ref ms   tix ms   ratio   tix eval ms: cold   warm');
  try {
    for (const [name, expr] of CASES) {
      if (only && name !== only) continue;
      const ref: number[] = [];
      const tix: number[] = [];
      let refOut = '';
      let tixOut = '';
      // One untimed run on each side first (file caches, a pool child started).
      wall(REF, expr, env);
      wall(TIX, expr, env);
      for (let i = 0; i < runs; i++) {
        const a = wall(REF, expr, env);
        const b = wall(TIX, expr, env);
        ref.push(a.ms);
        tix.push(b.ms);
        refOut = a.out;
        tixOut = b.out;
      }
      const job = baseJob({ settings: loadSettings(env), env, storeDir: join(dir, 'store') }, emptyEvalArgs());
      job.strict = true;
      job.inputs = [{ kind: 'expr', text: expr }];
      // Cold: a fresh worker's first job. Warm: its later jobs (as a reused pool child runs them).
      const cold: number[] = [];
      const warm: number[] = [];
      for (let i = 0; i < 3; i++) {
        const outs = await runEvalJobsInWorker([job, job, job]);
        cold.push(outs[0]!.evalMs ?? NaN);
        for (const o of outs.slice(1)) warm.push(o.evalMs ?? NaN);
      }
      const r = median(ref);
      const t = median(tix);
      const same = refOut === tixOut ? '' : `  OUTPUT DIFFERS: ref ${refOut.trim()} tix ${tixOut.trim()}`;
      console.log(`${name.padEnd(22)} ${r.toFixed(0).padStart(6)} ${t.toFixed(0).padStart(8)} ${(t / r).toFixed(2).padStart(7)} ${median(cold).toFixed(0).padStart(11)} ${median(warm).toFixed(0).padStart(6)}${same}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run only as a script (profiling helpers import CASES).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

/**
 * Benchmark (issue 2): whole-process `nix-hash --type sha256 DIR` over a
 * 1 GiB tree of mixed files, tix vs the reference Nix 2.8, plus NAR dump
 * throughput (`nix-store --dump DIR > /dev/null`), with `sha256sum` over the
 * same NAR bytes as the physical ceiling of hashing.
 *
 *   node dist/bench/formats-hash.js [--dir D] [--runs N] [--size-mib M]
 *
 * On a machine shared with other work, timings swing by 2-4x. For stable
 * numbers run it in its own top-priority scheduling group (root only):
 *   setsid bash -c 'echo -20 > /proc/self/autogroup; exec nice -n -20 node dist/bench/formats-hash.js'
 *
 * The tree is generated once (seeded) and kept in D (default
 * $TMPDIR/tix-bench-tree-<M>) for later runs. Runs alternate tix and the
 * reference after a warm-up, and the medians are compared.
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../test/harness/prng.js';
import { arg } from './lib.js';
import { REF_BIN as REF, TIX_BIN as TIX } from '../test/harness/index.js';

const SIZE_MIB = Number(arg('--size-mib', '1024'));
const RUNS = Number(arg('--runs', '5'));
const DIR = arg('--dir', join(tmpdir(), `tix-bench-tree-${SIZE_MIB}`));

const rng = mulberry32;

/** ~70% of the bytes in a few big files, the rest in thousands of small and medium ones. */
function generate(dir: string, totalMiB: number): void {
  const r = rng(2024);
  const pool = Buffer.alloc(8 << 20);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE((r() * 2 ** 32) >>> 0, i);
  const total = totalMiB << 20;
  let written = 0;
  const write = (p: string, size: number): void => {
    const off = (r() * (pool.length - Math.min(size, pool.length))) | 0;
    if (size <= pool.length) writeFileSync(p, pool.subarray(off, off + size));
    else {
      const fd = openSync(p, 'w');
      for (let left = size; left > 0; left -= pool.length) writeFileSync(fd, pool.subarray(0, Math.min(left, pool.length)));
      closeSync(fd);
    }
    if (r() < 0.2) chmodSync(p, 0o755);
    written += size;
  };
  mkdirSync(dir, { recursive: true });
  const bigCount = Math.max(1, Math.round((totalMiB * 0.7) / 100));
  for (let i = 0; i < bigCount; i++) write(join(dir, `big${i}.bin`), Math.floor((total * 0.7) / bigCount));
  for (let i = 0; written < total * 0.9; i++) {
    const d = join(dir, `m${i % 40}`);
    mkdirSync(d, { recursive: true });
    write(join(d, `f${i}`), 1000 + ((r() * 200_000) | 0));
  }
  for (let i = 0; written < total; i++) {
    const d = join(dir, `s${i % 300}`, `x${i % 7}`);
    mkdirSync(d, { recursive: true });
    write(join(d, `file${i}.txt`), (r() * 8000) | 0);
    if (i % 50 === 0) symlinkSync(`file${i}.txt`, join(d, `link${i}`));
  }
}

function time(cmd: string, args: string[], stdoutFd?: number): { ms: number; out: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'], maxBuffer: 1 << 20 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return { ms, out: r.stdout?.toString() ?? '' };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function compare(label: string, bytes: number, ref: () => { ms: number; out: string }, tix: () => { ms: number; out: string }): void {
  ref();
  tix(); // warm-up (page cache, JIT caches)
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const x = ref();
    const y = tix();
    if (x.out !== y.out) throw new Error(`${label}: outputs differ: ${x.out} vs ${y.out}`);
    a.push(x.ms);
    b.push(y.ms);
  }
  const mbs = (ms: number): string => ((bytes / 1e6) / (ms / 1000)).toFixed(0);
  console.log(`${label}: reference ${median(a).toFixed(0)} ms (${mbs(median(a))} MB/s), tix ${median(b).toFixed(0)} ms (${mbs(median(b))} MB/s), ratio tix/reference ${(median(b) / median(a)).toFixed(3)}`);
  console.log(`  runs ref [${a.map((x) => x.toFixed(0)).join(' ')}] tix [${b.map((x) => x.toFixed(0)).join(' ')}]`);
}

if (!existsSync(DIR)) {
  console.log(`generating ${SIZE_MIB} MiB tree in ${DIR}…`);
  generate(DIR, SIZE_MIB);
}
// The NAR copy for the ceiling lives in RAM when possible, so disk speed does not enter.
const narPath = join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `tix-bench-${process.pid}.nar`);
const narFd = openSync(narPath, 'w');
time(join(REF, 'nix-store'), ['--dump', DIR], narFd);
closeSync(narFd);
const narBytes = statSync(narPath).size;
console.log(`tree ${DIR}: NAR ${(narBytes / 2 ** 20).toFixed(0)} MiB; ${RUNS} runs each, medians`);

compare('nix-hash --type sha256', narBytes, () => time(join(REF, 'nix-hash'), ['--type', 'sha256', DIR]), () => time(join(TIX, 'nix-hash'), ['--type', 'sha256', DIR]));
const devnull = openSync('/dev/null', 'w');
compare('nix-store --dump > /dev/null', narBytes, () => time(join(REF, 'nix-store'), ['--dump', DIR], devnull), () => time(join(TIX, 'nix-store'), ['--dump', DIR], devnull));
for (const [label, cmd, args] of [['sha256sum', 'sha256sum', [narPath]], ['openssl dgst -sha256', 'openssl', ['dgst', '-sha256', narPath]]] as const) {
  const ceil = [0, 1, 2].map(() => time(cmd, [...args]).ms);
  console.log(`ceiling: ${label} over the same ${(narBytes / 2 ** 20).toFixed(0)} MiB NAR file: ${median(ceil).toFixed(0)} ms (${((narBytes / 1e6) / (median(ceil) / 1000)).toFixed(0)} MB/s)`);
}
console.log(`load average while measuring: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
rmSync(narPath);

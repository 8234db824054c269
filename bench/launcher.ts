/**
 * Benchmark (start-up): whole-process wall time and CPU of small commands,
 * tix through the warm pool (bin/tix default), tix run directly
 * (TIX_SERVER=0), each with and without the V8 startup snapshot
 * (TIX_SNAPSHOT=0: the ESM bundle; its pool is a second one, started with
 * TIX_SNAPSHOT=0), and the reference Nix 2.8, in an isolated root:
 * `nix-instantiate --eval -E 1`, `nix-store --add` of a small file,
 * `nix-hash --type sha256` of a small dir, `nix-store -q --references`.
 *
 *   node dist/bench/launcher.js [--runs N] [--gap-ms G]
 *   node dist/bench/launcher.js --back-to-back N
 *
 * A job of a whitelisted command (all four here) gives its child back to
 * the pool when it ends cleanly (src/cli/launch/reuse.ts); any other job
 * uses up its child, whose replacement starts in the background, so back to
 * back (--gap-ms 0) such jobs find the pool refilled no faster than the
 * cores start children. CPU per command counts the client plus the pool's
 * manager and children, so it includes any start-up work.
 *
 * --back-to-back N compares pool policies: N `nix-instantiate --eval -E 1`
 * with no gap, each variant on a fresh pool of its own: direct, the pool
 * (no idle child: run directly), the pool with 3 idle children
 * (TIX_SERVER_MIN_IDLE=3), each also queueing for a starting child instead
 * (TIX_SERVER_WAIT=1), and the same without the snapshot; with the median
 * time a child took to get warm (from the manager's log).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, median } from './lib.js';
import { REF_BIN as REF, TIX_BIN as TIX } from '../test/harness/index.js';

const RUNS = Number(arg('--runs', '20'));
const GAP = Number(arg('--gap-ms', '300'));
const B2B = Number(arg('--back-to-back', '0'));

const dir = mkdtempSync(join(tmpdir(), 'tix-bench-launch-'));
const pool = join(dir, 'pool');
const poolEsm = join(dir, 'pool-esm');
mkdirSync(pool, { mode: 0o700 });
mkdirSync(poolEsm, { mode: 0o700 });
for (const d of ['store', 'var', 'log', 'etc', 'home', 'small/d']) mkdirSync(join(dir, d), { recursive: true });
writeFileSync(join(dir, 'etc/nix.conf'), 'build-users-group =\nsubstituters =\nsandbox = false\nexperimental-features = nix-command recursive-nix\n');
writeFileSync(join(dir, 'small/f'), 'hello\n');
writeFileSync(join(dir, 'small/d/a'), 'a\n');
writeFileSync(join(dir, 'small/d/b'), 'b\n');
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH, HOME: join(dir, 'home'), NIX_STORE_DIR: join(dir, 'store'), NIX_STATE_DIR: join(dir, 'var'),
  NIX_LOG_DIR: join(dir, 'log'), NIX_CONF_DIR: join(dir, 'etc'), NIX_REMOTE: '', NIX_PATH: '', TIX_SERVER_DIR: pool,
};

function ticksOf(pid: number | 'self'): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** The pools' managers' logs (every pool directory under `dir`). */
function poolLogs(): string[] {
  return readdirSync(dir).filter((d) => d.startsWith('pool'))
    .flatMap((d) => readdirSync(join(dir, d)).filter((x) => x.endsWith('.log')).map((f) => join(dir, d, f)));
}

/** CPU ticks of the pools' managers and the children they have reaped. */
function poolTicks(): number {
  let t = 0;
  for (const log of poolLogs()) {
    const m = /manager (\d+): serving/.exec(readFileSync(log, 'utf8'));
    try {
      if (m) t += ticksOf(Number(m[1]));
    } catch {
      // exited
    }
  }
  return t;
}

function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function measure(bin: string, cmd: string[], extra: NodeJS.ProcessEnv): { median: number; cpu: number } {
  const walls: number[] = [];
  const c0 = ticksOf('self');
  const p0 = poolTicks();
  for (let i = 0; i < RUNS; i++) {
    sleep(GAP);
    const t = process.hrtime.bigint();
    const r = spawnSync(join(bin, cmd[0]!), cmd.slice(1), { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    walls.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) throw new Error(`${bin}/${cmd.join(' ')}: ${r.stderr}`);
  }
  walls.sort((a, b) => a - b);
  const ticks = ticksOf('self') - c0 + (poolTicks() - p0);
  return { median: walls[walls.length >> 1]!, cpu: (ticks * 10) / RUNS };
}

function b2b(): void {
  const VARIANTS: [string, NodeJS.ProcessEnv][] = [
    ['direct', { TIX_SERVER: '0' }],
    ['pool', {}],
    ['pool+wait', { TIX_SERVER_WAIT: '1' }],
    ['pool3', { TIX_SERVER_MIN_IDLE: '3' }],
    ['pool3+wait', { TIX_SERVER_MIN_IDLE: '3', TIX_SERVER_WAIT: '1' }],
    ['direct-esm', { TIX_SERVER: '0', TIX_SNAPSHOT: '0' }],
    ['pool-esm', { TIX_SNAPSHOT: '0' }],
  ];
  const cmd = ['nix-instantiate', '--eval', '-E', '1'];
  console.log(`back to back: ${B2B} x ${cmd.join(' ')}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const [name, extra] of VARIANTS) {
    const own = join(dir, `pool-${name}`);
    mkdirSync(own, { mode: 0o700 });
    const e = { ...env, ...extra, TIX_SERVER_DIR: own, TIX_SERVER_TRACE: join(dir, `trace-${name}`) };
    spawnSync(join(TIX, cmd[0]!), cmd.slice(1), { env: e }); // starts this variant's pool
    sleep(3000);
    writeFileSync(e.TIX_SERVER_TRACE!, '');
    const c0 = ticksOf('self');
    const p0 = poolTicks();
    const walls: number[] = [];
    for (let i = 0; i < B2B; i++) {
      const t = process.hrtime.bigint();
      const r = spawnSync(join(TIX, cmd[0]!), cmd.slice(1), { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
      walls.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    }
    const cpu = ((ticksOf('self') - c0 + poolTicks() - p0) * 10) / B2B;
    const pooled = readFileSync(e.TIX_SERVER_TRACE!, 'utf8').split('\n').filter((l) => l.startsWith('pool ')).length;
    const warm = poolLogs().filter((l) => l.startsWith(own)).flatMap((l) => [...readFileSync(l, 'utf8').matchAll(/warm after (\d+) ms/g)].map((m) => Number(m[1])));
    walls.sort((a, b) => a - b);
    const mean = walls.reduce((a, b) => a + b, 0) / walls.length;
    console.log(`  ${name.padEnd(11)} median ${median(walls).toFixed(1).padStart(6)} ms  mean ${mean.toFixed(1).padStart(6)}  p90 ${walls[Math.floor(walls.length * 0.9)]!.toFixed(1).padStart(6)}`
      + `  CPU ${cpu.toFixed(0).padStart(4)} ms/cmd  pool ${pooled}/${B2B}${warm.length ? `  child warm after ${median(warm)} ms` : ''}`);
    for (const f of readdirSync(own)) if (f.endsWith('.sock')) rmSync(join(own, f)); // its manager exits
  }
  console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

function startup(): void {
  const added = spawnSync(join(REF, 'nix-store'), ['--add', join(dir, 'small/f')], { env, encoding: 'utf8' }).stdout.trim();
  const ESM = { TIX_SNAPSHOT: '0' };
  const POOL_ESM = { ...ESM, TIX_SERVER_DIR: poolEsm };
  spawnSync(join(TIX, 'nix-instantiate'), ['--eval', '-E', '1'], { env }); // starts the pools
  spawnSync(join(TIX, 'nix-instantiate'), ['--eval', '-E', '1'], { env: { ...env, ...POOL_ESM } });
  sleep(3000);
  const COMMANDS = [
    ['nix-instantiate', '--eval', '-E', '1'],
    ['nix-store', '--add', join(dir, 'small/f')],
    ['nix-hash', '--type', 'sha256', join(dir, 'small/d')],
    ['nix-store', '-q', '--references', added],
  ];
  console.log(`runs ${RUNS}, gap ${GAP} ms, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const cmd of COMMANDS) {
    const rows: [string, { median: number; cpu: number }][] = [
      ['pool', measure(TIX, cmd, {})],
      ['pool-esm', measure(TIX, cmd, POOL_ESM)],
      ['direct', measure(TIX, cmd, { TIX_SERVER: '0' })],
      ['direct-esm', measure(TIX, cmd, { TIX_SERVER: '0', ...ESM })],
      ['ref', measure(REF, cmd, {})],
    ];
    const ref = rows.at(-1)![1];
    const row = ([name, m]: [string, { median: number; cpu: number }]): string =>
      `  ${name.padEnd(10)} median ${m.median.toFixed(1).padStart(6)} ms (ratio ${(m.median / ref.median).toFixed(2)})  CPU ${m.cpu.toFixed(0).padStart(4)} ms/cmd`;
    console.log(`${cmd.join(' ').replace(dir, '$D')}\n${rows.map(row).join('\n')}`);
  }
  console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

if (B2B > 0) b2b();
else startup();
spawnSync('chmod', ['-R', 'u+w', dir]);
rmSync(dir, { recursive: true, force: true }); // the pool's manager exits once its socket is gone

/**
 * Daemon throughput, tix vs the reference `nix-daemon` on the same machine
 * (issue 6): 10,000 QueryPathInfo on one connection (one path again and
 * again, and cycling over 1,000 paths), 1,000 AddToStoreNar of small paths,
 * and 50 concurrent clients. Both daemons serve a local store in
 * their own temp root and are driven by the same client (tix's RemoteStore).
 * Prints ops/s (median of TIX_BENCH_ROUNDS rounds, default 5; the best
 * round in brackets) and the ratio tix/reference of the medians (higher is
 * better for tix), and each daemon's CPU time per operation (median of the
 * rounds; ref/tix, higher is better for tix): wall time on a loaded 2-core
 * machine mostly measures the load.
 *
 * Each round runs both daemons in slices (TIX_BENCH_SLICES, default 10, for
 * rows 1-3): a tenth of the round's operations on one side, then on the
 * other, the side that goes first alternating from slice to slice; a side's
 * round figure sums its slices. Load on the shared machine comes in phases of
 * seconds: with one block per side and round, a phase often covered one
 * side's block only (rounds of one side twice as slow as its others, the
 * median then decided by which side the phases fell on); slices give both
 * sides the same phases. The file system is synced before each slice: on
 * ext4 with `discard`, a side otherwise pays for the write-back of the other
 * side's adds. Medians, not bests: one lucky round of a noisy row
 * (AddToStoreNar) decided the ratio before.
 *
 * The AddToStoreNar row on ext4 also measures the file system's inode
 * allocator: each add creates and deletes files (2.8 and tix both make and
 * remove a path lock and create the path), and ext4 skips inodes freed in the
 * last minute or so (`recently_deleted`), scanning further the more were freed
 * lately in the block group the store directory is in. Each side's temp root
 * lands in a group of its own, so in one run one side may pay several times
 * the other's system time per add (perf, load ~2: one side 1.5 ms of system
 * time per add, mostly ext4_tmpfile/ext4_create -> find_inode_bit ->
 * recently_deleted; the other 0.2 ms), whichever daemon it is. The output
 * names the roots' file system and, before that row, what a file made and
 * removed in each side's store directory costs; TMPDIR=/dev/shm puts both
 * roots on tmpfs, which has no such scan (both daemons alike).
 *
 * Run: node dist/bench/daemon.js [scale]   (scale 1 = the issue's counts)
 * TIX_BENCH_ROWS=1,3 runs only those rows (1-based), e.g. while tuning one;
 * TIX_BENCH_VERBOSE=1 prints every round, with user/system CPU per operation;
 * TIX_DAEMON_WARM_UP_MS is passed to the tix daemon (its JIT warm-up before it
 * listens, default 500 ms; 0 compares without it).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statfsSync, unlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { WireWriter, hashBytes, type StorePath } from '../src/formats/index.js';
import { RemoteStore, unixConnector } from '../src/protocol/index.js';
import { makeRoot } from '../test/harness/index.js';
import { startNixDaemon } from '../test/differential/daemon-harness.js';

const scale = Number(process.argv[2] ?? 1);
const N_QPI = Math.round(10_000 * scale);
const N_NAR = Math.round(1_000 * scale);
const N_MANY = Math.round(1_000 * scale);
const N_CLIENTS = 50;
const PER_CLIENT = Math.round(100 * scale);

const narOf = (s: string): Uint8Array =>
  new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('contents').string(s).string(')').take();

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

interface Side {
  pid: number;
  root: ReturnType<typeof makeRoot>;
  stop(): Promise<void>;
  connect: ReturnType<typeof unixConnector>;
  c: RemoteStore;
  q: StorePath;
  /** Distinct valid paths for the QueryPathInfo row that defeats per-process path-info caches. */
  many: StorePath[];
  paths: StorePath[];
  /** Next index into `many` (row 2 goes on where the previous slice stopped). */
  manyAt: number;
  /** Small paths added so far (row 3 names each new one after this count). */
  added: number;
}

async function setUp(kind: 'ref' | 'tix'): Promise<Side> {
  const root = makeRoot({ conf: 'trusted-users = root\n' + (process.env.TIX_BENCH_CONF ?? '') });
  // TIX_DAEMON_WARM_UP_MS reaches the tix daemon (its warm-up before it listens; 0 = none).
  const warm = process.env.TIX_DAEMON_WARM_UP_MS;
  const d = await startNixDaemon(kind, root, kind === 'tix' && warm !== undefined ? { TIX_DAEMON_WARM_UP_MS: warm } : {});
  const connect = unixConnector(d.socket);
  const c = new RemoteStore({ storeDir: root.storeDir, connect, maxConnections: 1 });
  // 2.8's daemon on a fresh store can drop the first client ("SQLite database is
  // busy": the start-up probe's connection and ours both create the schema).
  let q: StorePath | undefined;
  for (let i = 0; q === undefined; i++) {
    try {
      q = await c.addTextToStore('q', new TextEncoder().encode('q'), []);
    } catch (e) {
      if (i >= 5) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const many: StorePath[] = [];
  for (let i = 0; i < N_MANY; i++) many.push(await c.addTextToStore(`m${i}`, new TextEncoder().encode(`m${i}`), []));
  return { pid: d.proc.pid!, root, connect, c, q, many, paths: [], manyAt: 0, added: 0, stop: async () => { await c.close(); await d.stop(); root.cleanup(); } };
}

/**
 * CPU seconds used by a daemon so far: the process, its reaped and its live
 * children (2.8 forks one per connection). Live threads are read from
 * schedstat (ns); reaped children only exist as 10 ms ticks (stat's cutime,
 * cstime). Steadier than wall time on a shared machine.
 */
function cpuOf(pid: number): number {
  let stat: string[];
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  } catch {
    return 0; // gone meanwhile
  }
  let sec = (Number(stat[13]) + Number(stat[14])) / TICKS;
  let ns = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // gone meanwhile
  }
  for (const t of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone meanwhile
    }
  }
  sec += ns / 1e9;
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // no children file
  }
  for (const k of kids) sec += cpuOf(Number(k));
  return sec;
}
const TICKS = 100;

/**
 * User and system CPU seconds of a daemon and its children, live and reaped
 * (10 ms ticks: only meaningful over a row's whole round). Shows which side
 * of the kernel boundary a difference is on.
 */
function userSysOf(pid: number): [number, number] {
  let us: [number, number] = [0, 0];
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    us = [(Number(f[11]) + Number(f[13])) / TICKS, (Number(f[12]) + Number(f[14])) / TICKS];
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const k of kids) {
      const [u, s] = userSysOf(Number(k));
      us = [us[0] + u, us[1] + s];
    }
  } catch {
    // gone meanwhile
  }
  return us;
}

/**
 * A row: `run(side, n)` does the next `n` of its operations on one side and
 * returns the seconds they took; `sliced` rows run a round as slices (below).
 */
interface Row {
  name: string;
  ops: number;
  sliced: boolean;
  run(s: Side, n: number): Promise<number>;
}

const BENCHES: Row[] = [
  { name: `QueryPathInfo ×${N_QPI} (one connection)`, ops: N_QPI, sliced: true, run: (s, n) => timeIt(async () => {
    for (let i = 0; i < n; i++) await s.c.queryPathInfo(s.q);
  }) },
  // 2.8 keeps a path-info cache per process (one per connection), so the row
  // above mostly measures its cache; here every call is for another path.
  { name: `QueryPathInfo ×${N_QPI} (one connection, ${N_MANY} distinct paths)`, ops: N_QPI, sliced: true, run: (s, n) => timeIt(async () => {
    for (let i = 0; i < n; i++) await s.c.queryPathInfo(s.many[s.manyAt++ % s.many.length]!);
  }) },
  { name: `AddToStoreNar ×${N_NAR} (small paths)`, ops: N_NAR, sliced: true, run: (s, n) => {
    const sd = s.c.storeDir;
    return timeIt(async () => {
      for (let i = 0; i < n; i++) {
        const k = s.added++;
        const nar = narOf(`small ${k}`);
        const h = hashBytes('sha256', nar);
        const path = sd.makeFixedOutputPath({ recursive: true, hash: h, name: `s${k}` });
        s.paths.push(path);
        await s.c.addToStoreNar({ path, narHash: h, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:${h.toString('base32')}` }, once(nar));
      }
    });
  } },
  // Not sliced: each slice would connect the 50 clients again.
  { name: `${N_CLIENTS} concurrent clients × (connect + ${PER_CLIENT} QueryPathInfo)`, ops: N_CLIENTS * PER_CLIENT, sliced: false, run: (s) => timeIt(async () => {
    await Promise.all(
      Array.from({ length: N_CLIENTS }, async (_, k) => {
        const cc = new RemoteStore({ storeDir: s.root.storeDir, connect: s.connect, maxConnections: 1 });
        for (let i = 0; i < PER_CLIENT; i++) await cc.queryPathInfo(s.paths[(k * PER_CLIENT + i) % s.paths.length] ?? s.q);
        await cc.close();
      }),
    );
  }) },
];

/** Rounds alternate the side that goes first (the machine's load varies); medians count. */
const ROUNDS = Number(process.env.TIX_BENCH_ROUNDS ?? 5);
const ROWS = process.env.TIX_BENCH_ROWS?.split(',').map(Number);
/** Slices per round of rows 1-3 (TIX_BENCH_SLICES; 1 = one block per side and round). */
const SLICES = Math.max(1, Number(process.env.TIX_BENCH_SLICES ?? 10));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const ref = await setUp('ref');
// A failed start of the second daemon must not leave the first running.
const tix = await setUp('tix').catch(async (e: unknown) => {
  await ref.stop();
  throw e;
});
/**
 * What the file system charges a side for a file made and removed in its
 * store directory (the AddToStoreNar row does that for every add on both
 * sides): µs per create + unlink, median of 5 × 50. On ext4 this differs
 * between the two roots by the state of their block groups (see the header).
 */
function fsProbe(side: Side): number {
  const each: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 50; i++) {
      const f = `${side.root.storeDir}/.bench-probe-${k}-${i}`;
      closeSync(openSync(f, 'wx'));
      unlinkSync(f);
    }
    each.push(Number(process.hrtime.bigint() - t) / 1e3 / 50);
  }
  return median(each);
}

/** The roots' file system, by statfs magic (see the header on ext4). */
function fsName(dir: string): string {
  const t = statfsSync(dir).type;
  return ({ 0x01021994: 'tmpfs', 0xef53: 'ext2/3/4', 0x9123683e: 'btrfs', 0x58465342: 'xfs' } as Record<number, string>)[t] ?? `type 0x${t.toString(16)}`;
}
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

try {
  console.log(`roots under ${tmpdir()} (${fsName(tmpdir())}); load average ${load()}`);
  console.log(
    'benchmark'.padEnd(58), 'ref ops/s'.padStart(16), 'tix ops/s'.padStart(16), 'tix/ref'.padStart(8),
    'ref µs/op'.padStart(10), 'tix µs/op'.padStart(10), 'ref/tix'.padStart(8),
  );
  for (const [i, row] of BENCHES.entries()) {
    if (ROWS !== undefined && !ROWS.includes(i + 1)) continue;
    const rate = { ref: [] as number[], tix: [] as number[] };
    const cpu = { ref: [] as number[], tix: [] as number[] };
    const userSys = { ref: [] as string[], tix: [] as string[] };
    const slices = row.sliced ? Math.min(SLICES, row.ops) : 1;
    if (i === 2) console.log(`  file create+unlink in the store dir: ref ${fsProbe(ref).toFixed(0)} µs, tix ${fsProbe(tix).toFixed(0)} µs`);
    for (let r = 0; r < ROUNDS; r++) {
      const secs = { ref: 0, tix: 0 };
      const cpuSecs = { ref: 0, tix: 0 };
      const us = { ref: [0, 0], tix: [0, 0] };
      for (let sl = 0; sl < slices; sl++) {
        const n = Math.floor((row.ops * (sl + 1)) / slices) - Math.floor((row.ops * sl) / slices);
        const order = (r * slices + sl) % 2 === 0 ? ([['ref', ref], ['tix', tix]] as const) : ([['tix', tix], ['ref', ref]] as const);
        for (const [k, side] of order) {
          spawnSync('sync');
          const c0 = cpuOf(side.pid);
          const us0 = userSysOf(side.pid);
          secs[k] += await row.run(side, n);
          cpuSecs[k] += cpuOf(side.pid) - c0;
          const us1 = userSysOf(side.pid);
          us[k] = [us[k][0]! + us1[0] - us0[0], us[k][1]! + us1[1] - us0[1]];
        }
      }
      for (const k of ['ref', 'tix'] as const) {
        rate[k].push(row.ops / secs[k]);
        cpu[k].push((cpuSecs[k] * 1e6) / row.ops);
        userSys[k].push(`${((us[k][0]! * 1e6) / row.ops).toFixed(0)}/${((us[k][1]! * 1e6) / row.ops).toFixed(0)}`);
      }
    }
    if (process.env.TIX_BENCH_VERBOSE) {
      for (const k of ['ref', 'tix'] as const) console.log(`  ${k} rounds: ops/s ${rate[k].map((x) => x.toFixed(0)).join(' ')}; µs/op ${cpu[k].map((x) => x.toFixed(0)).join(' ')}; user/sys µs/op ${userSys[k].join(' ')}`);
    }
    const shown = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.max(...xs).toFixed(0)})`;
    const [cr, ct] = [median(cpu.ref), median(cpu.tix)];
    console.log(
      row.name.padEnd(58), shown(rate.ref).padStart(16), shown(rate.tix).padStart(16), (median(rate.tix) / median(rate.ref)).toFixed(2).padStart(8),
      cr.toFixed(0).padStart(10), ct.toFixed(0).padStart(10), (cr / ct).toFixed(2).padStart(8),
    );
  }
  console.log(`load average ${load()}`);
} finally {
  await ref.stop();
  await tix.stop();
}

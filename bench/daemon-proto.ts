/**
 * The protocol side of the daemon's cost, without the local store: a daemon
 * process serving a `MemoryStore` whose AddToStoreNar only reads the upload
 * drives the rows of bench/daemon.ts, and its CPU time per operation is
 * printed (least of the rounds). Whatever bench/daemon.ts measures for the
 * tix daemon above these figures is the store's (LocalStore, SQLite, files).
 *
 * Run: node dist/bench/daemon-proto.js [scale] [--cpu-prof]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Settings } from '../src/core/index.js';
import { WireWriter, hashBytes, type StorePath } from '../src/formats/index.js';
import type { ByteSource, ValidPathInfo } from '../src/store/index.js';
import { MemoryStore, RemoteStore, startDaemon, unixConnector } from '../src/protocol/index.js';

/** Reads uploads and forgets them: no hashing, no copies, a heap that does not grow. */
class ReadOnlyUploads extends MemoryStore {
  override async addToStoreNar(_info: ValidPathInfo, source: ByteSource): Promise<void> {
    for await (const c of source) void c;
  }
}

const narOf = (s: string): Uint8Array =>
  new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('contents').string(s).string(')').take();
async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

/** CPU seconds of all the daemon's threads, in ns resolution (schedstat; stat has 10 ms ticks). */
function cpuOf(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone meanwhile
    }
  }
  return ns / 1e9;
}

if (process.argv[2] === 'serve') {
  const store = new ReadOnlyUploads('/nix/store');
  // As the daemon CLI: an access(2) per check, and a watched directory (the socket's: nothing is deleted there).
  const watchDir = dirname(process.argv[3]!);
  await startDaemon({ socketPath: process.argv[3]!, store, settings: new Settings(), pathInfoCache: { stillValid: (p) => existsSync('/') && p !== '', watchDir } });
  process.once('SIGTERM', () => process.exit(0));
} else {
  const scale = Number(process.argv[2] ?? 1);
  const prof = process.argv.includes('--cpu-prof');
  const dir = mkdtempSync(join(tmpdir(), 'tix-proto-bench-'));
  const sock = join(dir, 'socket');
  const args = [...(prof ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`] : []), fileURLToPath(import.meta.url), 'serve', sock];
  // TIX_PROTO_WRAP: run the daemon under e.g. `valgrind --tool=callgrind` (instruction counts do not depend on the load).
  const wrap = (process.env.TIX_PROTO_WRAP ?? '').split(' ').filter(Boolean);
  const proc = wrap.length > 0
    ? spawn(wrap[0]!, [...wrap.slice(1), process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  while (!existsSync(sock)) await new Promise((r) => setTimeout(r, 20));
  const c = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock), maxConnections: 1 });
  const q = await c.addTextToStore('q', new TextEncoder().encode('q'), []);
  const N_QPI = Math.round(10_000 * scale);
  const N_NAR = Math.round(1_000 * scale);
  let round = 0;
  const rows: [string, number, () => Promise<void>][] = [
    [`QueryPathInfo ×${N_QPI} (cached)`, N_QPI, async () => {
      for (let i = 0; i < N_QPI; i++) await c.queryPathInfo(q);
    }],
    // Not cached: the general operation loop (read, dispatch, store call, STDERR_LAST, reply).
    [`IsValidPath ×${N_QPI}`, N_QPI, async () => {
      for (let i = 0; i < N_QPI; i++) await c.isValidPath(q);
    }],
    [`AddToStoreNar ×${N_NAR} (small paths)`, N_NAR, async () => {
      const r = round++;
      for (let i = 0; i < N_NAR; i++) {
        const nar = narOf(`small ${r} ${i}`);
        const h = hashBytes('sha256', nar);
        const path = c.storeDir.makeFixedOutputPath({ recursive: true, hash: h, name: `s${i}` });
        const info = { path, narHash: h, narSize: nar.length, references: [] as StorePath[], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:${h.toString('base32')}` };
        await c.addToStoreNar(info, once(nar));
      }
    }],
  ];
  try {
    const only = process.env.TIX_PROTO_ROWS;
    const rounds = Number(process.env.TIX_BENCH_ROUNDS ?? 3);
    for (const [name, n, run] of rows) {
      if (only !== undefined && !name.toLowerCase().startsWith(only.toLowerCase())) continue;
      let best = Infinity;
      for (let k = 0; k < rounds; k++) {
        const c0 = cpuOf(proc.pid!);
        await run();
        best = Math.min(best, ((cpuOf(proc.pid!) - c0) * 1e6) / n);
      }
      console.log(`${name.padEnd(40)} daemon CPU ${best.toFixed(1).padStart(7)} µs/op`);
    }
  } finally {
    await c.close();
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    if (prof) console.log(`profile in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

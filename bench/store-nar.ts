/**
 * Store side of the daemon's AddToStoreNar, in process: `LocalStore.addToStoreNar`
 * of small single-file NARs into a fresh store, µs per call (wall and this
 * process's CPU), medians over rounds. No socket, no framing: what is left
 * is restore, hashing, locks, temp roots and registration.
 *
 *   node dist/bench/store-nar.js [--n 1000] [--rounds 5] [--size 200] [--valid]
 *
 * `--valid` adds every NAR twice and times the second pass (the path is
 * valid: the NAR is read and dropped). The reference daemon's figure for
 * the same call (bench/daemon.ts, 1,000 × AddToStoreNar) is ~260 µs CPU per
 * op including its protocol handling; this one excludes tix's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { LocalStore, type ValidPathInfo } from '../src/store/index.js';
import { Settings } from '../src/core/index.js';
import { hashBytes, regularFromBytes, serialiseNar } from '../src/formats/index.js';
import { arg, median } from './lib.js';

const n = Number(arg('--n', '1000'));
const rounds = Number(arg('--rounds', '5'));
const size = Number(arg('--size', '200'));
const validPass = process.argv.includes('--valid');

/** One chunk, as the daemon's framed source hands a small NAR on. */
async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

function makeItems(store: LocalStore, round: number): { info: ValidPathInfo; nar: Uint8Array }[] {
  const items: { info: ValidPathInfo; nar: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const body = Buffer.alloc(size, `r${round} file ${i} `);
    const nar = serialiseNar(regularFromBytes(body, i % 7 === 0));
    const narHash = hashBytes('sha256', nar);
    const path = store.storeDir.makeFixedOutputPath({ recursive: true, hash: narHash, name: `f${i}` });
    items.push({ info: { path, narHash, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:sha256:${narHash.base32}` }, nar });
  }
  return items;
}

async function round(r: number): Promise<{ wall: number; cpu: number; user: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tix-bench-nar-'));
  let store: LocalStore | undefined;
  try {
    store = LocalStore.open({ storeDir: join(dir, 'store'), stateDir: join(dir, 'var'), settings: new Settings() });
    const items = makeItems(store, r);
    if (validPass) for (const { info, nar } of items) await store.addToStoreNar(info, once(nar));
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const { info, nar } of items) await store.addToStoreNar(info, once(nar));
    const wall = Number(process.hrtime.bigint() - t0) / 1e3 / n;
    const c = process.cpuUsage(c0);
    return { wall, cpu: (c.user + c.system) / n, user: c.user / n };
  } finally {
    await store?.close();
    spawnSync('chmod', ['-R', 'u+w', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const walls: number[] = [];
const cpus: number[] = [];
const users: number[] = [];
for (let r = 0; r < rounds; r++) {
  const x = await round(r);
  walls.push(x.wall);
  cpus.push(x.cpu);
  users.push(x.user);
}
console.log(
  `addToStoreNar, ${n} × ${size}-byte single-file NARs${validPass ? ' (already valid)' : ''} in ${tmpdir()}: ` +
    `${median(walls).toFixed(0)} µs/op wall, ${median(cpus).toFixed(0)} µs/op CPU (${median(users).toFixed(0)} user; medians of ${rounds}; per round ${cpus.map((c) => c.toFixed(0)).join(' ')}); ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
);

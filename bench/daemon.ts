/**
 * Daemon throughput, tix vs the reference `nix-daemon` on the same machine
 * (issue 6): 10,000 QueryPathInfo on one connection, 1,000 AddToStoreNar of
 * small paths, and 50 concurrent clients. Both daemons serve a local store in
 * their own temp root and are driven by the same client (tix's RemoteStore).
 * Prints ops/s and the ratio tix/reference (higher is better for tix).
 *
 * Run: node dist/bench/daemon.js [scale]   (scale 1 = the counts)
 */
import { WireWriter, hashBytes, type StorePath } from '../src/formats/index.js';
import { RemoteStore, unixConnector } from '../src/protocol/index.js';
import { makeRoot } from '../test/harness/index.js';
import { startNixDaemon } from '../test/differential/daemon-harness.js';

const scale = Number(process.argv[2] ?? 1);
const N_QPI = Math.round(10_000 * scale);
const N_NAR = Math.round(1_000 * scale);
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

async function benchOne(kind: 'ref' | 'tix'): Promise<Record<string, number>> {
  const root = makeRoot({ conf: 'trusted-users = root\n' + (process.env.TIX_BENCH_CONF ?? '') });
  const d = await startNixDaemon(kind, root);
  const connect = unixConnector(d.socket);
  const c = new RemoteStore({ storeDir: root.storeDir, connect, maxConnections: 1 });
  const res: Record<string, number> = {};
  try {
    const p = await c.addTextToStore('q', new TextEncoder().encode('q'), []);
    res['QueryPathInfo ×' + N_QPI] = N_QPI / (await timeIt(async () => {
      for (let i = 0; i < N_QPI; i++) await c.queryPathInfo(p);
    }));
    const sd = c.storeDir;
    const paths: StorePath[] = [];
    res['AddToStoreNar ×' + N_NAR] = N_NAR / (await timeIt(async () => {
      for (let i = 0; i < N_NAR; i++) {
        const nar = narOf(`small ${kind} ${i}`);
        const h = hashBytes('sha256', nar);
        const path = sd.makeFixedOutputPath({ recursive: true, hash: h, name: `s${i}` });
        paths.push(path);
        await c.addToStoreNar({ path, narHash: h, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:${h.toString('base32')}` }, once(nar));
      }
    }));
    res[`${N_CLIENTS} clients × (connect + ${PER_CLIENT} QueryPathInfo)`] = (N_CLIENTS * PER_CLIENT) / (await timeIt(async () => {
      await Promise.all(
        Array.from({ length: N_CLIENTS }, async (_, k) => {
          const cc = new RemoteStore({ storeDir: root.storeDir, connect, maxConnections: 1 });
          for (let i = 0; i < PER_CLIENT; i++) await cc.queryPathInfo(paths[(k * PER_CLIENT + i) % paths.length]!);
          await cc.close();
        }),
      );
    }));
    return res;
  } finally {
    await c.close();
    await d.stop();
    root.cleanup();
  }
}

const ref = await benchOne('ref');
const tix = await benchOne('tix');
console.log('benchmark'.padEnd(52), 'ref ops/s'.padStart(11), 'tix ops/s'.padStart(11), 'tix/ref'.padStart(8));
for (const k of Object.keys(ref)) {
  console.log(k.padEnd(52), ref[k]!.toFixed(0).padStart(11), tix[k]!.toFixed(0).padStart(11), (tix[k]! / ref[k]!).toFixed(2).padStart(8));
}

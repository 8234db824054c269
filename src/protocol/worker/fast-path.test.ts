/**
 * The daemon's short way for a whole AddToStoreNar (fast-path.ts): taken
 * when the store offers `addToStoreNarSync` and accepts, with the general
 * handler's rules (trust, signatures, repair); anything declined, thrown or
 * partial is done again by the general handler, which reports errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes } from '../../core/index.js';
import { WireWriter, hashBytes, StorePath, type Hash } from '../../formats/index.js';
import type { AddToStoreNarOptions, ByteSource, ValidPathInfo } from '../../store/store.js';
import { MemoryStore, narOfFile } from '../testing/memory-store.js';
import { RemoteStore } from './client.js';
import { unixConnector } from './client-conn.js';
import { serveConnection } from './server.js';
import { Op } from './ops.js';
import { STDERR_LAST, WORKER_MAGIC_1 } from './version.js';

type Mode = 'add' | 'decline' | 'throw';

/** A memory store with a synchronous add that records how each add was done. */
class SyncStore extends MemoryStore {
  mode: Mode = 'add';
  readonly syncCalls: { info: ValidPathInfo; nar: Uint8Array; opts: AddToStoreNarOptions | undefined }[] = [];
  asyncCalls = 0;

  addToStoreNarSync(info: ValidPathInfo, nar: Uint8Array, opts?: AddToStoreNarOptions): boolean {
    this.syncCalls.push({ info: { ...info }, nar: nar.slice(), opts });
    if (this.mode === 'throw') throw new Error('sync add failed');
    if (this.mode === 'decline' || !hashBytes('sha256', nar).equals(info.narHash)) return false;
    if (!this.infos.has(info.path.baseName)) this.register({ ...info, narSize: nar.length }, nar.slice());
    return true;
  }

  override async addToStoreNar(info: ValidPathInfo, source: ByteSource): Promise<void> {
    this.asyncCalls++;
    return super.addToStoreNar(info, source);
  }
}

async function withServer(trusted: boolean, fn: (sock: string, store: SyncStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tix-fast-'));
  const sock = join(dir, 'socket');
  const store = new SyncStore('/nix/store');
  const server: Server = createServer((s) => void serveConnection(s, store, { trusted }));
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    await fn(sock, store);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A content-addressed (fixed:r:sha256) path for `nar`, as `nix store add-path` makes. */
function caInfo(store: MemoryStore, name: string, nar: Uint8Array, narHash: Hash = hashBytes('sha256', nar)): ValidPathInfo {
  const h = hashBytes('sha256', nar);
  const path = store.storeDir.makeFixedOutputPath({ recursive: true, hash: h, name });
  return { path, narHash, narSize: nar.length, references: [], registrationTime: 0, ultimate: true, sigs: [], ca: `fixed:r:sha256:${h.base32}` };
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

const cases: { name: string; trusted: boolean; mode: Mode; run: (c: RemoteStore, s: SyncStore) => Promise<void>; sync: number; async: number }[] = [
  {
    name: 'a whole small add is done synchronously',
    trusted: true, mode: 'add', sync: 1, async: 0,
    run: async (c, s) => {
      const nar = narOfFile(bytes('one'));
      const info = caInfo(s, 'one', nar);
      await c.addToStoreNar(info, once(nar));
      assert.ok(await c.isValidPath(info.path));
      assert.equal(s.syncCalls[0]!.opts?.repair, false);
      assert.deepEqual(Buffer.from(s.syncCalls[0]!.nar), Buffer.from(nar));
    },
  },
  {
    name: 'declined: the general handler adds it',
    trusted: true, mode: 'decline', sync: 1, async: 1,
    run: async (c, s) => {
      const nar = narOfFile(bytes('two'));
      const info = caInfo(s, 'two', nar);
      await c.addToStoreNar(info, once(nar));
      assert.ok(await c.isValidPath(info.path));
    },
  },
  {
    name: 'thrown: the general handler does it again',
    trusted: true, mode: 'throw', sync: 1, async: 1,
    run: async (c, s) => {
      const nar = narOfFile(bytes('three'));
      const info = caInfo(s, 'three', nar);
      await c.addToStoreNar(info, once(nar));
      assert.ok(await c.isValidPath(info.path));
    },
  },
  {
    name: 'a hash mismatch is reported by the general handler; the connection goes on',
    trusted: true, mode: 'add', sync: 2, async: 1,
    run: async (c, s) => {
      const nar = narOfFile(bytes('four'));
      const bad = caInfo(s, 'four', nar, hashBytes('sha256', 'other'));
      await assert.rejects(c.addToStoreNar(bad, once(nar)), /hash mismatch/);
      assert.equal(await c.isValidPath(bad.path), false);
      const good = caInfo(s, 'four', nar);
      await c.addToStoreNar(good, once(nar));
      assert.ok(await c.isValidPath(good.path));
    },
  },
  {
    name: 'repair goes the general way',
    trusted: true, mode: 'add', sync: 0, async: 1,
    run: async (c, s) => {
      const nar = narOfFile(bytes('five'));
      await c.addToStoreNar(caInfo(s, 'five', nar), once(nar), { repair: true });
    },
  },
  {
    name: 'untrusted: a content-addressed path is added, not ultimate, signatures checked',
    trusted: false, mode: 'add', sync: 1, async: 0,
    run: async (c, s) => {
      const nar = narOfFile(bytes('six'));
      await c.addToStoreNar(caInfo(s, 'six', nar), once(nar), { dontCheckSigs: true });
      assert.equal(s.syncCalls[0]!.info.ultimate, false);
      assert.equal(s.syncCalls[0]!.opts?.dontCheckSigs, false);
    },
  },
  {
    name: 'untrusted: an unsigned input-addressed path is refused by the general handler',
    trusted: false, mode: 'add', sync: 0, async: 0,
    run: async (c) => {
      const nar = narOfFile(bytes('seven'));
      const info: ValidPathInfo = { path: new StorePath('7'.repeat(32) + '-seven'), narHash: hashBytes('sha256', nar), narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [] };
      await assert.rejects(c.addToStoreNar(info, once(nar), { dontCheckSigs: true }), /lacks a valid signature/);
      assert.equal(await c.isValidPath(info.path), false);
    },
  },
];

for (const k of cases) {
  test(`AddToStoreNar short way: ${k.name}`, async () => {
    await withServer(k.trusted, async (sock, store) => {
      store.mode = k.mode;
      const c = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock), maxConnections: 1 });
      try {
        await k.run(c, store);
      } finally {
        await c.close();
      }
      assert.equal(store.syncCalls.length, k.sync, 'synchronous attempts');
      assert.equal(store.asyncCalls, k.async, 'general adds');
    });
  });
}

test('AddToStoreNar short way: pipelined adds (one in two frames) and a query in one write are answered in order', async () => {
  await withServer(true, async (sock, store) => {
    const infos = ['p1', 'p2'].map((n) => ({ n, nar: narOfFile(bytes(n)) })).map(({ n, nar }) => ({ info: caInfo(store, n, nar), nar }));
    const w = new WireWriter().u64(WORKER_MAGIC_1).u64((1 << 8) | 37).u64(0).u64(0);
    for (const { info, nar } of infos) {
      w.u64(Op.AddToStoreNar).string(store.storeDir.print(info.path)).string('').string(info.narHash.base16).u64(0).u64(0).u64(info.narSize);
      w.u64(0).u64(0).string(info.ca!).u64(0).u64(0); // ultimate, sigs, ca, repair, dontCheckSigs
      // The second NAR comes in two frames: joined for the store.
      if (info === infos[0]!.info) w.u64(nar.length).raw(nar).u64(0);
      else w.u64(10).raw(nar.subarray(0, 10)).u64(nar.length - 10).raw(nar.subarray(10)).u64(0);
    }
    w.u64(Op.IsValidPath).string(store.storeDir.print(infos[1]!.info.path));
    const out = await new Promise<Uint8Array>((resolve) => {
      const s = connect(sock);
      const parts: Buffer[] = [];
      s.on('data', (b) => parts.push(b));
      setTimeout(() => s.destroy(), 300);
      s.on('close', () => resolve(new Uint8Array(Buffer.concat(parts))));
      s.write(w.take());
    });
    assert.equal(store.syncCalls.length, 2);
    assert.equal(store.asyncCalls, 0);
    assert.deepEqual(store.syncCalls.map((x) => Buffer.from(x.nar)), infos.map((x) => Buffer.from(x.nar)));
    // After the handshake's reply: STDERR_LAST, STDERR_LAST, then STDERR_LAST and `true`.
    const last = new WireWriter().u64(STDERR_LAST).take();
    const tail = concatBytes([last, last, last, new WireWriter().u64(1).take()]);
    assert.deepEqual(Buffer.from(out.subarray(out.length - tail.length)), Buffer.from(tail));
    for (const { info } of infos) assert.ok(store.infos.has(info.path.baseName));
  });
});

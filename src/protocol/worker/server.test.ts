/** Server ⇄ client round trips over a real Unix socket, with the in-memory store. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../../core/index.js';
import { WireParser, WireWriter, hashBytes, StorePath } from '../../formats/index.js';
import { startDaemon } from '../daemon.js';
import { MemoryStore, narOfFile } from '../testing/memory-store.js';
import { RemoteStore } from './client.js';
import { currentOpContext, serveConnection } from './server.js';
import type { BasicDerivation } from './serialise.js';
import { unixConnector } from './client-conn.js';
import { Op } from './ops.js';
import { STDERR_ERROR, STDERR_LAST, STDERR_READ, WORKER_MAGIC_1 } from './version.js';

async function withDaemon(fn: (sock: string, store: MemoryStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tix-proto-'));
  const store = new MemoryStore('/nix/store');
  const sock = join(dir, 'socket');
  const d = await startDaemon({ socketPath: sock, store, settings: new Settings() });
  try {
    await fn(sock, store);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Send raw bytes, collect everything until the server closes or `ms` pass. */
function rawSession(sock: string, data: Uint8Array, ms = 300): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const s = connect(sock);
    const parts: Buffer[] = [];
    s.on('data', (b) => parts.push(b));
    s.on('error', () => undefined);
    const t = setTimeout(() => s.destroy(), ms);
    s.on('close', () => {
      clearTimeout(t);
      resolve(new Uint8Array(Buffer.concat(parts)));
    });
    s.write(data);
  });
}

function hello(minor: number): WireWriter {
  return new WireWriter().u64(WORKER_MAGIC_1).u64((1 << 8) | minor).u64(0).u64(0);
}

test('client and server: add, query, NAR round trip, invalid path', async () => {
  await withDaemon(async (sock) => {
    const c = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock) });
    const info = await c.getInfo();
    assert.equal(info.minor, 37);
    assert.equal(info.trusted, true);
    const p = await c.addTextToStore('hello.txt', bytes('hello\n'), []);
    const pi = await c.queryPathInfo(p);
    assert.ok(pi);
    assert.equal(pi.ca, `text:${hashBytes('sha256', 'hello\n').toString('base32')}`);
    assert.ok(pi.narHash.equals(hashBytes('sha256', narOfFile(bytes('hello\n')))));
    const chunks: Uint8Array[] = [];
    for await (const ch of c.narFromPath(p)) chunks.push(ch);
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(narOfFile(bytes('hello\n'))));
    assert.equal(await c.queryPathInfo(new StorePath('00000000000000000000000000000000-x')), undefined);
    await assert.rejects(c.narFromPath(new StorePath('00000000000000000000000000000000-x'))[Symbol.asyncIterator]().next(), /is not valid/);
    // the connection survived the error
    assert.equal(await c.isValidPath(p), true);
    const nar = narOfFile(bytes('x'.repeat(100_000)), true);
    const path = new StorePath('1'.repeat(32) + '-big');
    await c.addToStoreNar(
      { path, narHash: hashBytes('sha256', nar), narSize: nar.length, references: [p], registrationTime: 0, ultimate: false, sigs: [] },
      (async function* () { for (let i = 0; i < nar.length; i += 7000) yield nar.subarray(i, i + 7000); })(),
      { dontCheckSigs: true },
    );
    assert.deepEqual((await c.queryReferrers(p)).map(String), [path.baseName]);
    await assert.rejects(
      c.addToStoreNar({ path: new StorePath('2'.repeat(32) + '-bad'), narHash: hashBytes('sha256', 'x'), narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [] }, (async function* () { yield nar; })()),
      /hash mismatch|lacks a valid signature/,
    );
    // Without --no-check-sigs an input-addressed path needs a trusted signature (2.8's rule).
    await assert.rejects(
      c.addToStoreNar({ path: new StorePath('6'.repeat(32) + '-unsigned'), narHash: hashBytes('sha256', nar), narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [] }, (async function* () { yield nar; })()),
      /cannot add path '\/nix\/store\/6{32}-unsigned' because it lacks a valid signature/,
    );
    assert.equal(await c.isValidPath(path), true);
    await c.close();
  });
});

test('concurrent clients are served independently', async () => {
  await withDaemon(async (sock) => {
    // A client that connects and stalls mid-request must not block others.
    const stalled = connect(sock);
    stalled.write(hello(34).u64(Op.IsValidPath).u64(100).take());
    const clients = Array.from({ length: 10 }, () => new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock) }));
    const paths = await Promise.all(clients.map((c, i) => c.addTextToStore(`f${i}`, bytes(String(i)), [])));
    for (const c of clients) assert.equal((await c.queryAllValidPaths()).length, 10);
    assert.equal(new Set(paths.map(String)).size, 10);
    stalled.destroy();
    for (const c of clients) await c.close();
  });
});

test('garbage is answered with one error or a closed connection; the daemon keeps serving', async () => {
  await withDaemon(async (sock, store) => {
    const cases: [string, Uint8Array][] = [
      ['bad magic', new WireWriter().u64(0x1234).take()],
      ['old client', new WireWriter().u64(WORKER_MAGIC_1).u64(0x109).take()],
      ['unknown op', hello(34).u64(99).take()],
      ['huge op', hello(34).u64(2n ** 40n).take()],
      ['oversized string', hello(34).u64(Op.IsValidPath).u64(2n ** 50n).take()],
      ['bad path', hello(34).u64(Op.IsValidPath).string('/etc/passwd').take()],
      ['truncated frame', hello(34).u64(Op.AddToStore).string('x').string('fixed:r:sha256').u64(0).u64(0).u64(1000).raw(new Uint8Array(10)).take()],
      ['frame length beyond 2^53', hello(34).u64(Op.AddToStore).string('x').string('fixed:r:sha256').u64(0).u64(0).u64(2n ** 60n).u64(Op.IsValidPath).take()],
      ['bad method, framed payload drained', hello(34).u64(Op.AddToStore).string('x').string('fixed:r:bogus').u64(0).u64(0).u64(8).raw(bytes('garbage!')).u64(0).u64(Op.IsValidPath).string('/nix/store/' + '0'.repeat(32) + '-x').take()],
    ];
    for (const [name, data] of cases) {
      const out = await rawSession(sock, data);
      const errors = countErrors(out);
      assert.ok(errors <= 1, `${name}: ${errors} error records`);
    }
    // The bad-NAR case reports the error and keeps the session in sync.
    const last = await rawSession(sock, cases[cases.length - 1]![1]);
    assert.ok(Buffer.from(last).includes(Buffer.from(new WireWriter().u64(STDERR_LAST).u64(0).take())), 'IsValidPath answered after the failed upload');
    const c = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock) });
    await c.addTextToStore('still-ok', bytes('y'), []);
    assert.equal(store.infos.size, 1);
    await c.close();
  });
});

function countErrors(out: Uint8Array): number {
  let n = 0;
  const needle = Buffer.from(new WireWriter().u64(STDERR_ERROR).take());
  let i = Buffer.from(out).indexOf(needle);
  while (i >= 0) {
    n++;
    i = Buffer.from(out).indexOf(needle, i + 8);
  }
  return n;
}

test('1.21 client: AddToStoreNar pulled with STDERR_READ, no nixVersion, old error form', async () => {
  await withDaemon(async (sock, store) => {
    const nar = narOfFile(bytes('pull me'));
    const path = new StorePath('3'.repeat(32) + '-pulled');
    const s = connect(sock);
    const got: Buffer[] = [];
    let reads = 0;
    const done = new Promise<void>((resolve) => {
      s.on('data', (b) => {
        got.push(b);
        const all = new Uint8Array(Buffer.concat(got));
        // After the handshake (magic, version, LAST = 24 bytes), the server asks for data.
        const p = new WireParser(all, 24);
        while (p.remaining >= 8) {
          const code = p.u64();
          if (code === STDERR_READ) {
            p.u64();
            if (++reads === 1) s.write(new WireWriter().string(nar).take());
          } else if (code === STDERR_LAST) {
            resolve();
            return;
          } else break;
        }
      });
    });
    const w = hello(21).u64(Op.AddToStoreNar).string('/nix/store/' + path.baseName).string('').string(hashBytes('sha256', nar).base16);
    w.u64(0).u64(0).u64(nar.length).u64(0).u64(0).string('').u64(0).u64(1); // repair 0, dontCheckSigs 1
    s.write(w.take());
    await done;
    s.destroy();
    assert.ok(reads >= 1);
    assert.ok(store.infos.has(path.baseName));
    const err = await rawSession(sock, hello(21).u64(Op.QueryPathInfo).string('/nix/store/' + path.baseName).u64(Op.EnsurePath).string('/nix/store/' + '0'.repeat(32) + '-x').take());
    assert.ok(Buffer.from(err).includes(Buffer.from('error: path')), 'old-style error text with the error: prefix');
  });
});

test('AddMultipleToStore: paths in dependency order, NARs found by parsing inside the frames', async () => {
  await withDaemon(async (sock, store) => {
    const sd = store.storeDir;
    const narA = narOfFile(bytes('A'));
    const narB = narOfFile(bytes('B refers to A'));
    const a = sd.makeFixedOutputPath({ recursive: true, hash: hashBytes('sha256', narA), name: 'a' });
    const b = new StorePath('4'.repeat(32) + '-b');
    const payload = new WireWriter().u64(2);
    for (const [p, nar, refs] of [[a, narA, []], [b, narB, [a]]] as const) {
      payload.string(sd.print(p)).string('').string(hashBytes('sha256', nar).base16);
      payload.strings(refs.map((r) => sd.print(r))).u64(0).u64(nar.length).u64(1).u64(0).string('');
      payload.raw(nar);
    }
    const body = payload.take();
    // Frames cut at arbitrary points, including inside NARs.
    const w = hello(34).u64(Op.AddMultipleToStore).u64(0).u64(1);
    for (let i = 0; i < body.length; i += 37) {
      const chunk = body.subarray(i, i + 37);
      w.u64(chunk.length).raw(chunk);
    }
    w.u64(0).u64(Op.IsValidPath).string(sd.print(b));
    const out = await rawSession(sock, w.take());
    assert.equal(countErrors(out), 0);
    assert.ok(store.infos.has(a.baseName) && store.infos.has(b.baseName));
    assert.equal(store.infos.get(b.baseName)!.ultimate, false, 'server clears ultimate');
    // The IsValidPath after the upload was answered: true.
    assert.ok(Buffer.from(out).subarray(-16).equals(Buffer.from(new WireWriter().u64(STDERR_LAST).u64(1).take())));
  });
});

test('untrusted BuildDerivation: the stored .drv must be content-addressed too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-proto-'));
  const store = new MemoryStore('/nix/store');
  const sock = join(dir, 'socket');
  const server = createServer((s) => void serveConnection(s, store, { trusted: false }));
  await new Promise<void>((r) => server.listen(sock, () => r()));
  const c = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock) });
  try {
    const out = '/nix/store/' + '7'.repeat(32) + '-x';
    const iaDrv = await c.addTextToStore('x.drv', bytes(`Derive([("out","${out}","","")],[],[],"x86_64-linux","/bin/sh",[],[("out","${out}")])`), []);
    const inline: BasicDerivation = {
      name: 'x',
      outputs: new Map([['out', { hashAlgo: 'r:sha256', hash: '0'.repeat(64) }]]),
      inputSrcs: [], platform: 'x86_64-linux', builder: '/bin/sh', args: [], env: new Map(),
    };
    await assert.rejects(c.buildDerivation(iaDrv, inline), /not privileged to build input-addressed derivations/);
    const iaInline = { ...inline, outputs: new Map([['out', { hashAlgo: '', hash: '' }]]) };
    await assert.rejects(c.buildDerivation(iaDrv, iaInline), /not privileged to build input-addressed derivations/);
    // The connection is still usable after the refusals.
    assert.equal(await c.isValidPath(iaDrv), true);
  } finally {
    await c.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a client hanging up mid-operation aborts the operation (its signal), the next client is served', async () => {
  await withDaemon(async (sock, store) => {
    let started = false;
    let aborted = false;
    const s = store as unknown as { buildPaths: () => Promise<void> };
    s.buildPaths = async () => {
      started = true;
      const signal = currentOpContext()!.signal;
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      aborted = true;
      throw new Error('cancelled');
    };
    const w = hello(37).u64(Op.BuildPaths).strings(['/nix/store/' + '0'.repeat(32) + '-x.drv!out']).u64(0);
    const c = connect(sock);
    c.on('error', () => undefined);
    c.write(w.take());
    const until = async (cond: () => boolean): Promise<void> => {
      for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
    };
    await until(() => started);
    assert.ok(started && !aborted);
    c.destroy();
    await until(() => aborted);
    assert.ok(aborted, 'operation aborted after the hang-up');
    const next = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock) });
    try {
      assert.equal(await next.isValidPath(new StorePath('0'.repeat(32) + '-x')), false);
    } finally {
      await next.close();
    }
  });
});

test('per-connection path-info cache: reused while valid, never for invalid paths, emptied by changing ops', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-proto-'));
  const store = new MemoryStore('/nix/store');
  let calls = 0;
  const query = store.queryPathInfo.bind(store);
  store.queryPathInfo = (p) => (calls++, query(p));
  const onDisk = new Set<string>();
  const sock = join(dir, 'socket');
  const server = createServer((s) => void serveConnection(s, store, { trusted: true, pathInfoCache: { stillValid: (p) => onDisk.has(p.slice(p.lastIndexOf('/') + 1)) } }));
  await new Promise<void>((r) => server.listen(sock, () => r()));
  const c = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock), maxConnections: 1 });
  try {
    const missing = new StorePath('0'.repeat(32) + '-later');
    assert.equal(await c.queryPathInfo(missing), undefined);
    assert.equal(await c.queryPathInfo(missing), undefined);
    assert.equal(calls, 2, 'invalid answers are not cached');
    const p = await c.addTextToStore('t', bytes('t'), []);
    onDisk.add(p.baseName);
    const first = await c.queryPathInfo(p);
    const again = await c.queryPathInfo(p);
    assert.equal(calls, 3, 'second answer from the cache');
    assert.deepEqual(again, first);
    onDisk.delete(p.baseName); // deleted behind our back: ask the store again
    await c.queryPathInfo(p);
    assert.equal(calls, 4);
    onDisk.add(p.baseName);
    await c.queryPathInfo(p);
    assert.equal(calls, 4);
    store.infos.get(p.baseName)!.sigs = ['cache.example.org-1:' + Buffer.alloc(64).toString('base64')];
    assert.equal((await c.queryPathInfo(p))?.sigs.length, 0, 'cached');
    await c.addTextToStore('other', bytes('o'), []);
    const signed = await c.queryPathInfo(p);
    assert.equal(calls, 5, 'a changing op empties the cache');
    assert.equal(signed?.sigs.length, 1);
  } finally {
    await c.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Send `parts` one write at a time (a pause between), collect everything until the server closes. */
function rawParts(sock: string, parts: Uint8Array[]): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const s = connect(sock);
    const got: Buffer[] = [];
    s.on('data', (b) => got.push(b));
    s.on('error', () => undefined);
    const t = setTimeout(() => s.destroy(), 400 + parts.length * 40);
    s.on('close', () => {
      clearTimeout(t);
      resolve(new Uint8Array(Buffer.concat(got)));
    });
    void (async () => {
      for (const p of parts) {
        s.write(p);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
  });
}

test('cached QueryPathInfo answers are byte for byte the uncached ones: pipelined, split, odd encodings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-proto-'));
  const store = new MemoryStore('/nix/store');
  let calls = 0;
  const query = store.queryPathInfo.bind(store);
  store.queryPathInfo = (p) => (calls++, query(p));
  const p = await store.addTextToStore('t', bytes('t'), []);
  const printed = store.storeDir.print(p);
  const servers = [undefined, { stillValid: () => true }].map((pathInfoCache, i) => {
    const sock = join(dir, `socket${i}`);
    const server = createServer((s) => void serveConnection(s, store, { trusted: true, pathInfoCache }));
    return { sock, server };
  });
  for (const s of servers) await new Promise<void>((r) => s.server.listen(s.sock, () => r()));
  const qpi = (path: string, padByte = 0): Uint8Array => {
    const w = new WireWriter().u64(Op.QueryPathInfo).string(path).take();
    if (padByte !== 0) w[w.length - 1] = padByte;
    return w;
  };
  const cat = (...a: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(a));
  const q = qpi(printed);
  const sessions: Uint8Array[][] = [
    // first answer fills the cache, then three requests in one write, one more split in three
    [hello(37).take(), q, cat(q, q, q), q.subarray(0, 5), q.subarray(5, 20), cat(q.subarray(20), q)],
    // an unknown path and a non-canonical spelling between cached ones
    [hello(37).take(), q, cat(q, qpi('/nix/store/' + '0'.repeat(32) + '-x'), q, qpi(printed + '/'), q)],
    // non-zero padding: the general loop's error, then the connection ends
    [hello(37).take(), q, cat(q, qpi(printed, 1), q)],
    // an older client
    [hello(21).take(), q, cat(q, q)],
  ];
  try {
    for (const [i, parts] of sessions.entries()) {
      const plain = await rawParts(servers[0]!.sock, parts);
      calls = 0;
      const cached = await rawParts(servers[1]!.sock, parts);
      if (i === 0) assert.equal(calls, 1, 'one store query, then the cache');
      assert.ok(plain.length > 100, `session ${i} got answers`);
      assert.deepEqual(Buffer.from(cached), Buffer.from(plain), `session ${i}`);
    }
  } finally {
    for (const s of servers) await new Promise<void>((r) => s.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('path-info cache: shared by the connections given one options object; a change through any connection empties it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-proto-'));
  const store = new MemoryStore('/nix/store');
  let calls = 0;
  const query = store.queryPathInfo.bind(store);
  store.queryPathInfo = (p) => (calls++, query(p));
  const sock = join(dir, 'socket');
  const pathInfoCache = { stillValid: () => true };
  const server = createServer((s) => void serveConnection(s, store, { trusted: true, pathInfoCache }));
  await new Promise<void>((r) => server.listen(sock, () => r()));
  const a = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock), maxConnections: 1 });
  const b = new RemoteStore({ storeDir: '/nix/store', connect: unixConnector(sock), maxConnections: 1 });
  try {
    const p = await a.addTextToStore('t', bytes('t'), []);
    await a.queryPathInfo(p);
    await a.queryPathInfo(p);
    assert.equal(calls, 1, 'second answer from the cache');
    assert.deepEqual(await b.queryPathInfo(p), await a.queryPathInfo(p));
    assert.equal(calls, 1, "another connection's answer from the shared cache");
    await b.addTextToStore('other', bytes('o'), []);
    await a.queryPathInfo(p);
    assert.equal(calls, 2, "another connection's change empties this connection's cache");
    await a.queryPathInfo(p);
    assert.equal(calls, 2);
  } finally {
    await a.close();
    await b.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Write everything without reading, half-close, then read all the server sends until it closes. */
function unreadSession(sock: string, data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(sock);
    const got: Buffer[] = [];
    s.pause();
    s.on('error', reject);
    s.on('data', (b) => got.push(b));
    s.on('close', () => resolve(Buffer.concat(got)));
    s.end(data, () => setTimeout(() => s.resume(), 50));
  });
}

test('cached QueryPathInfo: a client that does not read gets every answer, in order, once it reads (back-pressure)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-proto-'));
  const store = new MemoryStore('/nix/store');
  const p = await store.addTextToStore('t', bytes('t'), []);
  const other = await store.addTextToStore('u', bytes('u'), []);
  const servers = [undefined, { stillValid: () => true }].map((pathInfoCache, i) => {
    const sock = join(dir, `socket${i}`);
    // Half-open: the answers to requests sent before the client's end still go out.
    const server = createServer({ allowHalfOpen: true }, (s) => void serveConnection(s, store, { trusted: true, pathInfoCache }));
    return { sock, server };
  });
  for (const s of servers) await new Promise<void>((r) => s.server.listen(s.sock, () => r()));
  const w = hello(37);
  // Mostly cached answers, with uncached operations in between.
  for (let i = 0; i < 6000; i++) {
    if (i % 1000 === 999) w.u64(Op.IsValidPath).string(store.storeDir.print(other));
    else w.u64(Op.QueryPathInfo).string(store.storeDir.print(p));
  }
  const data = w.take();
  try {
    const plain = await unreadSession(servers[0]!.sock, data);
    const cached = await unreadSession(servers[1]!.sock, data);
    assert.ok(plain.length > 6000 * 100, `all answers (${plain.length} bytes)`);
    assert.ok(Buffer.compare(cached, plain) === 0, `the same bytes (${cached.length} vs ${plain.length})`);
  } finally {
    for (const s of servers) await new Promise<void>((r) => s.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

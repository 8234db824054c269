import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync, readdirSync, statSync, readFileSync, symlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { NixError, Settings } from '../../core/index.js';
import { hashBytes, parseHash, regularFromBytes, serialiseNar, StorePath } from '../../formats/index.js';
import { LocalStore } from './local-store.js';
import { tempStore as tempStoreIn } from './test-support.js';
import { MemoryStore } from '../memory-store.js';
import type { Store, ValidPathInfo } from '../store.js';
import { drvOutputPaths } from './path-info.js';
import { decodeValidPathInfos, makeValidityRegistration } from './registration.js';

const tempStore = () => tempStoreIn('tix-ls-');

async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

/** Scenarios every Store implementation must pass (one backend suite). */
const scenarios: [string, (s: Store) => Promise<void>][] = [
  ['text path: spec vector, idempotent, queryable', async (s) => {
    const p = await s.addTextToStore('hello.txt', Buffer.from('hello\n'), []);
    assert.equal(p.hashPart.length, 32);
    assert.equal((await s.addTextToStore('hello.txt', Buffer.from('hello\n'), [])).baseName, p.baseName);
    const info = (await s.queryPathInfo(p))!;
    assert.equal(info.narSize, 120);
    assert.equal(info.narHash.base16, '1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13');
    assert.equal(info.ca, 'text:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq');
    assert.equal((await s.queryPathFromHashPart(p.hashPart))?.baseName, p.baseName);
  }],
  ['references, referrers and closure', async (s) => {
    const a = await s.addTextToStore('a', Buffer.from('a'), []);
    const b = await s.addTextToStore('b', Buffer.from('b'), [a]);
    const c = await s.addTextToStore('c', Buffer.from('c'), [a, b]);
    assert.deepEqual((await s.queryReferrers(a)).map(String).sort(), [b, c].map(String).sort());
    const cl = await s.computeFSClosure([c]);
    assert.deepEqual([...cl].sort(), [a, b, c].map((p) => s.storeDir.print(p)).sort());
    const up = await s.computeFSClosure([a], { flipDirection: true });
    assert.equal(up.size, 3);
  }],
  ['a reference to an invalid path is refused', async (s) => {
    const bogus = new StorePath('00000000000000000000000000000000-missing');
    await assert.rejects(s.addTextToStore('x', Buffer.from('x'), [bogus]), (e: NixError) => /not valid/.test(e.message));
    assert.deepEqual(await s.queryAllValidPaths(), []);
  }],
  ['addToStore flat/recursive with several algorithms', async (s) => {
    const flat = await s.addToStore({ name: 'hello.txt', method: 'flat', hashAlgo: 'sha256', source: once(Buffer.from('hello\n')) });
    assert.equal(flat.ca, 'fixed:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq');
    const md5 = await s.addToStore({ name: 'hello.txt', method: 'flat', hashAlgo: 'md5', source: once(Buffer.from('hello\n')) });
    assert.equal(md5.ca, 'fixed:md5:4425hx5d1mc9y39llj4k4nm55i');
    const nar = serialiseNar(regularFromBytes(Buffer.from('hello\n')));
    const rec = await s.addToStore({ name: 'hello.txt', method: 'recursive', hashAlgo: 'sha256', source: once(nar) });
    assert.equal(rec.narHash.base16, '1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13');
    assert.equal(rec.ca, 'fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw');
  }],
  ['addToStoreNar checks the NAR hash', async (s) => {
    const nar = serialiseNar(regularFromBytes(Buffer.from('payload\n')));
    const path = new StorePath('1b8m03r63zqhnjf7l5wnldhh7c134ap5-payload');
    const info: ValidPathInfo = {
      path, narHash: hashBytes('sha256', 'not the nar'), narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [],
    };
    await assert.rejects(s.addToStoreNar(info, once(nar)), /hash mismatch/);
    assert.equal(await s.isValidPath(path), false);
    await s.addToStoreNar({ ...info, narHash: hashBytes('sha256', nar) }, once(nar));
    assert.equal(await s.isValidPath(path), true);
    const back: Uint8Array[] = [];
    for await (const c of s.narFromPath(path)) back.push(c);
    assert.deepEqual(Buffer.concat(back), Buffer.from(nar));
  }],
  ['GC: temp roots live, the rest dead, --delete refuses live paths', async (s) => {
    const a = await s.addTextToStore('keep', Buffer.from('k'), []);
    const b = await s.addTextToStore('drop', Buffer.from('d'), []);
    const dead = await s.collectGarbage({ action: 'returnDead' });
    // Both were added by this process, so both are temp roots.
    assert.deepEqual(dead.paths.filter((p) => p.endsWith('-keep') || p.endsWith('-drop')), []);
    await assert.rejects(s.collectGarbage({ action: 'deleteSpecific', pathsToDelete: [a] }), /still alive/);
    assert.equal(await s.isValidPath(b), true);
  }],
];

for (const [name, fn] of scenarios) {
  test(`MemoryStore: ${name}`, async () => {
    await fn(new MemoryStore('/nix/store'));
  });
  test(`LocalStore: ${name}`, async () => {
    const t = tempStore();
    try {
      await fn(t.store);
    } finally {
      await t.done();
    }
  });
}

test('LocalStore: schema 10 files, canonical metadata, no temp leftovers', async () => {
  const t = tempStore();
  try {
    const src = join(t.dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'x'), 'x');
    writeFileSync(join(src, 'run'), '#!/bin/sh\n');
    chmodSync(join(src, 'run'), 0o775);
    symlinkSync('x', join(src, 'l'));
    const info = await t.store.addPathToStore({ name: 'src', fsPath: src, method: 'recursive', hashAlgo: 'sha256' });
    const p = t.store.print(info.path);
    assert.equal(statSync(p).mode & 0o7777, 0o555);
    assert.equal(statSync(join(p, 'x')).mode & 0o7777, 0o444);
    assert.equal(statSync(join(p, 'run')).mode & 0o7777, 0o555);
    assert.equal(statSync(join(p, 'x')).mtimeMs, 1000);
    assert.equal(readFileSync(join(t.dir, 'var', 'db', 'schema'), 'utf8'), '10');
    assert.ok(existsSync(join(t.dir, 'var', 'db', 'big-lock')));
    assert.deepEqual(readdirSync(join(t.dir, 'store')).filter((n) => n.includes('tix-tmp')), []);
    await assert.rejects(t.store.addPathToStore({ name: 'missing', fsPath: join(t.dir, 'nope'), method: 'recursive', hashAlgo: 'sha256' }), /No such file/);
  } finally {
    await t.done();
  }
});

test('drvOutputPaths reads the ATerm output list', () => {
  const cases: [string, string, [string, string][]][] = [
    ['one output', 'Derive([("out","/s/abc-x","","")],[],[],"x","/bin/sh",[],[])', [['out', '/s/abc-x']]],
    ['two outputs', 'Derive([("dev","/s/a-x-dev","",""),("out","/s/b-x","","")],[])', [['dev', '/s/a-x-dev'], ['out', '/s/b-x']]],
    ['floating CA skipped', 'Derive([("out","","r:sha256","")],[])', []],
    ['not a drv', 'hello', []],
  ];
  for (const [name, text, want] of cases) assert.deepEqual(drvOutputPaths(text), want, name);
});

test('registration text round-trips', () => {
  const sd = new MemoryStore('/nix/store').storeDir;
  const a = new StorePath('97jr0cq9m16l8q8818fcgs00iqgz3p51-plain');
  const b = new StorePath('3v4v73qx0mpac0ycmaljy0zbfwf9r06y-withdep');
  const info: ValidPathInfo = {
    path: b, narHash: parseHash('sha256:d8b774b4b9634e45f17c8e21b837587fad5526e2f887aa1055b894d75ebad69a'), narSize: 240,
    references: [a], registrationTime: 1, ultimate: false, sigs: [], deriver: new StorePath('pykyi2x3wk2lys78yrdwm55150si4889-withdep.drv'),
  };
  const text = makeValidityRegistration(sd, [info], true);
  assert.equal(text, '/nix/store/3v4v73qx0mpac0ycmaljy0zbfwf9r06y-withdep\nd8b774b4b9634e45f17c8e21b837587fad5526e2f887aa1055b894d75ebad69a\n240\n/nix/store/pykyi2x3wk2lys78yrdwm55150si4889-withdep.drv\n1\n/nix/store/97jr0cq9m16l8q8818fcgs00iqgz3p51-plain\n');
  const [d] = decodeValidPathInfos(sd, text, true);
  assert.equal(d!.narSize, 240);
  assert.equal(d!.references[0]!.baseName, a.baseName);
  assert.throws(() => decodeValidPathInfos(sd, '/nix/store/3v4v73qx0mpac0ycmaljy0zbfwf9r06y-withdep\nxx\n', true));
});

test('LocalStore: fsync-store-paths = true takes the same path to validity', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-ls-'));
  const settings = new Settings();
  settings.set('fsync-store-paths', 'true');
  const store = LocalStore.open({ storeDir: join(dir, 'store'), stateDir: join(dir, 'var'), settings });
  try {
    assert.equal(store.fsync, true);
    mkdirSync(join(dir, 'src', 'd'), { recursive: true });
    writeFileSync(join(dir, 'src', 'd', 'f'), 'f');
    const info = await store.addPathToStore({ name: 'src', fsPath: join(dir, 'src'), method: 'recursive', hashAlgo: 'sha256' });
    const t = await store.addTextToStore('t', Buffer.from('t'), [info.path]);
    assert.deepEqual((await store.queryPathInfo(t))!.references.map(String), [info.path.baseName]);
  } finally {
    await store.close();
    spawnSync('chmod', ['-R', 'u+w', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LocalStore: small adds replace an unregistered leftover under the final name, canonical and complete', async () => {
  const t = tempStore();
  try {
    const cases: [string, 'file' | 'dir' | 'symlink', boolean][] = [
      ['leftover file', 'file', false], ['leftover dir', 'dir', false], ['leftover symlink', 'symlink', true],
    ];
    for (const [name, kind, exec] of cases) {
      const contents = Buffer.from(`contents of ${name}\n`);
      const src = join(t.dir, `src-${kind}`);
      writeFileSync(src, contents);
      chmodSync(src, exec ? 0o755 : 0o644);
      // Where the add will land (same hash as the add computes).
      const nar = serialiseNar(regularFromBytes(contents, exec));
      const final = t.store.print(t.store.storeDir.makeFixedOutputPath({ recursive: true, hash: hashBytes('sha256', nar), name: `src-${kind}` }));
      if (kind === 'file') writeFileSync(final, 'half-writ');
      else if (kind === 'dir') mkdirSync(join(final, 'inner'), { recursive: true });
      else symlinkSync('/nonexistent', final);
      const info = await t.store.addPathToStore({ name: `src-${kind}`, fsPath: src, method: 'recursive', hashAlgo: 'sha256' });
      assert.equal(t.store.print(info.path), final, name);
      assert.deepEqual(readFileSync(final), contents, name);
      const st = statSync(final);
      assert.equal(st.mode & 0o7777, exec ? 0o555 : 0o444, name);
      assert.equal(st.mtimeMs, 1000, name);
      assert.equal(st.nlink, 1, name);
      const text = await t.store.addTextToStore(`t-${kind}`, contents, []);
      assert.deepEqual(readFileSync(t.store.print(text)), contents);
    }
    // The path locks are names of the store's lock run until its 2 ms timer ends it (see below).
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(readdirSync(join(t.dir, 'store')).filter((n) => n.includes('tix-tmp') || n.endsWith('.lock')), []);
  } finally {
    await t.done();
  }
});

test('hashRegularNar equals hashing the serialised NAR', async () => {
  const { hashRegularNar } = await import('./add-to-store.js');
  for (const size of [0, 1, 7, 8, 9, 63, 64, 65, 1000]) {
    for (const exec of [false, true]) {
      const contents = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff));
      const nar = serialiseNar(regularFromBytes(contents, exec));
      const r = hashRegularNar(contents, exec, ['sha256', 'sha1']);
      assert.equal(r.narSize, nar.length, `size ${size} exec ${exec}`);
      assert.ok(r.hashes[0]!.equals(hashBytes('sha256', nar)), `sha256 size ${size} exec ${exec}`);
      assert.ok(r.hashes[1]!.equals(hashBytes('sha1', nar)), `sha1 size ${size} exec ${exec}`);
    }
  }
});

test('hashRegularNar with one algorithm (the one-shot path) equals hashing the serialised NAR', async () => {
  const { hashRegularNar } = await import('./add-to-store.js');
  for (const size of [0, 1, 7, 8, 9, 64 * 1024, 64 * 1024 + 1, 70_000]) {
    for (const exec of [false, true]) {
      const contents = Buffer.from(Array.from({ length: size }, (_, i) => (i * 17 + size) & 0xff));
      const nar = serialiseNar(regularFromBytes(contents, exec));
      const r = hashRegularNar(contents, exec, ['sha256']);
      assert.equal(r.narSize, nar.length, `size ${size} exec ${exec}`);
      assert.ok(r.hashes[0]!.equals(hashBytes('sha256', nar)), `size ${size} exec ${exec}`);
    }
  }
});

test('LocalStore: a valid text path missing on disk is written again by the next add (tix repairs; Nix 2.8 returns it as is)', async () => {
  const t = tempStore();
  try {
    const p = await t.store.addTextToStore('gone.txt', Buffer.from('gone\n'), []);
    const printed = t.store.print(p);
    spawnSync('rm', ['-f', printed]);
    assert.equal(existsSync(printed), false);
    assert.equal((await t.store.addTextToStore('gone.txt', Buffer.from('gone\n'), [])).baseName, p.baseName);
    assert.equal(readFileSync(printed, 'utf8'), 'gone\n');
    assert.equal(statSync(printed).mode & 0o7777, 0o444);
    assert.equal((await t.store.queryAllValidPaths()).length, 1);
  } finally {
    await t.done();
  }
});

test('LocalStore: addToStoreNar of a small file: written only when the hash checks out, a leftover replaced, a re-add reads the NAR', async () => {
  const t = tempStore();
  try {
    const contents = Buffer.from('#!/bin/sh\necho hi\n');
    const nar = serialiseNar(regularFromBytes(contents, true));
    const narHash = hashBytes('sha256', nar);
    const path = t.store.storeDir.makeFixedOutputPath({ recursive: true, hash: narHash, name: 'hi' });
    const printed = t.store.print(path);
    const info: ValidPathInfo = { path, narHash, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [] };
    // A wrong hash: refused, nothing on disk, nothing registered.
    await assert.rejects(t.store.addToStoreNar({ ...info, narHash: hashBytes('sha256', 'other') }, once(nar)), /hash mismatch importing path/);
    assert.equal(existsSync(printed), false);
    // A leftover under the final name is replaced; the result is canonical.
    writeFileSync(printed, 'half');
    await t.store.addToStoreNar(info, once(nar));
    assert.deepEqual(readFileSync(printed), contents);
    assert.equal(statSync(printed).mode & 0o7777, 0o555);
    assert.equal(statSync(printed).mtimeMs, 1000);
    assert.ok((await t.store.queryPathInfo(path))!.narHash.equals(narHash));
    // Already valid: the NAR is still consumed from a shared reader, leaving what follows.
    const { ByteReader } = await import('../../formats/index.js');
    const r = new ByteReader(once(Buffer.concat([nar, Buffer.from('next')])));
    await t.store.addToStoreNar(info, r);
    assert.equal(Buffer.from(await r.readExact(4)).toString(), 'next');
    // The path lock is a name of the store's lock run until the run's 2 ms timer ends it
    // (a timer set earlier and due sooner than this one, so it has run by then).
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(readdirSync(join(t.dir, 'store')).filter((n) => n.includes('tix-tmp') || n.endsWith('.lock')), []);
  } finally {
    await t.done();
  }
});

test('LocalStore: concurrent small addToStoreNar of the same paths (one store and two on the same dirs) register each once; Nix verifies the contents', async () => {
  const t = tempStore();
  const other = LocalStore.open({ storeDir: join(t.dir, 'store'), stateDir: join(t.dir, 'var'), settings: new Settings() });
  try {
    const items = Array.from({ length: 40 }, (_, i) => {
      const nar = serialiseNar(regularFromBytes(Buffer.from(`same ${i}\n`), i % 3 === 0));
      const narHash = hashBytes('sha256', nar);
      const path = t.store.storeDir.makeFixedOutputPath({ recursive: true, hash: narHash, name: `c${i}` });
      const info: ValidPathInfo = { path, narHash, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:sha256:${narHash.base32}` };
      return { info, nar };
    });
    // NARs in two chunks with a timer between, so that the adders interleave at every step.
    async function* split(b: Uint8Array): AsyncIterable<Uint8Array> {
      yield b.subarray(0, 24);
      await new Promise((r) => setTimeout(r, 1));
      yield b.subarray(24);
    }
    const adds: Promise<void>[] = [];
    for (const { info, nar } of items) {
      for (let k = 0; k < 3; k++) adds.push(t.store.addToStoreNar({ ...info }, split(nar)));
      adds.push(other.addToStoreNar({ ...info }, split(nar)));
    }
    await Promise.all(adds);
    const dump = spawnSync('sqlite3', [join(t.dir, 'var', 'db', 'db.sqlite'), 'select count(*), count(distinct path) from ValidPaths'], { encoding: 'utf8' });
    assert.equal(dump.stdout.trim(), `${items.length}|${items.length}`);
    await other.close();
    await t.store.close();
    assert.deepEqual(readdirSync(join(t.dir, 'store')).filter((n) => n.endsWith('.lock') || n.includes('tix-tmp')), []);
    const env = {
      ...process.env, NIX_STORE_DIR: join(t.dir, 'store'), NIX_STATE_DIR: join(t.dir, 'var'), NIX_LOG_DIR: join(t.dir, 'log'), NIX_CONF_DIR: join(t.dir, 'etc'),
    };
    mkdirSync(join(t.dir, 'etc'), { recursive: true });
    writeFileSync(join(t.dir, 'etc', 'nix.conf'), 'build-users-group =\nsubstituters =\nsandbox = false\n');
    const v = spawnSync('/usr/bin/nix-store', ['--verify', '--check-contents'], { env, encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stderr.replace(/^(checking|reading).*\n/gm, ''), '');
  } finally {
    await other.close().catch(() => undefined);
    await t.done();
  }
});

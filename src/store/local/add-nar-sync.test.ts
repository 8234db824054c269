/**
 * `LocalStore.addToStoreNarSync` (the daemon's synchronous small add) and
 * the byte-exact single-file NAR recogniser it relies on: what it adds is
 * what `addToStoreNar` adds, and everything else is declined untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByteReader, hashBytes, memTreeNode, parseNar, regularFromBytes, serialiseNar, StorePath, WireWriter } from '../../formats/index.js';
import type { ValidPathInfo } from '../store.js';
import { singleFileNar } from './single-file-nar.js';
import { tempStore } from './test-support.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

async function* once(x: Uint8Array): AsyncIterable<Uint8Array> {
  yield x;
}

/** What the strict parser makes of a NAR: a single file's contents and flag, or undefined for anything else. */
async function parsedSingleFile(nar: Uint8Array): Promise<{ contents: Buffer; executable: boolean } | 'error' | undefined> {
  const parts: Uint8Array[] = [];
  let file: { executable: boolean; depth: number } | undefined;
  let other = false;
  let reader: ByteReader;
  try {
    reader = await parseNar(once(nar), {
      directory: () => void (other = true),
      symlink: () => void (other = true),
      fileStart: (path, executable) => void (file = { executable, depth: path.length }),
      fileData: (c) => void parts.push(c.slice()),
      fileEnd: () => undefined,
    });
  } catch {
    return 'error';
  }
  // Bytes after the NAR: a whole-NAR recogniser must not call it one file.
  const rest = await reader.readSome(1).catch(() => new Uint8Array(0));
  if (other || file === undefined || file.depth !== 0 || rest.length > 0) return undefined;
  return { contents: Buffer.concat(parts), executable: file.executable };
}

const nar = (contents: string, executable = false): Uint8Array => serialiseNar(regularFromBytes(b(contents), executable));
const withByte = (x: Uint8Array, at: number, v: number): Uint8Array => {
  const c = x.slice();
  c[at < 0 ? c.length + at : at] = v;
  return c;
};

const vectors: [string, Uint8Array][] = [
  ['empty file', nar('')],
  ['7 bytes (padding)', nar('1234567')],
  ['8 bytes (no padding)', nar('12345678')],
  ['executable', nar('#!/bin/sh\n', true)],
  ['large-ish', nar('y'.repeat(70_000))],
  ['symlink', serialiseNar(memTreeNode({ type: 'symlink', target: b('x') }))],
  ['directory', serialiseNar(memTreeNode({ type: 'directory', entries: new Map([['f', { type: 'regular', contents: b('a'), executable: false }]]) }))],
  ['trailing bytes', Buffer.concat([nar('abc'), Buffer.alloc(8)])],
  ['truncated', nar('abcdefghij').subarray(0, 60)],
  ['non-zero padding', withByte(nar('abc'), -17, 1)],
  ['bad magic', withByte(nar('abc'), 8, 0x4e)],
  ['executable marker not empty', new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('executable').string('x').string('contents').string('a').string(')').take()],
  ['contents before executable', new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('contents').string('a').string('executable').string('').string(')').take()],
  ['length beyond the end', withByte(nar('abc'), 64, 200)],
  ['not closed', withByte(nar('abc'), -8, 0x28)],
];

for (const [name, bytes] of vectors) {
  test(`singleFileNar: ${name}: agrees with the strict parser`, async () => {
    const want = await parsedSingleFile(bytes);
    const got = singleFileNar(bytes);
    if (want === undefined || want === 'error') {
      assert.equal(got, undefined);
      return;
    }
    assert.ok(got);
    assert.deepEqual(Buffer.from(got.contents), want.contents);
    assert.equal(got.executable, want.executable);
    // The hash of the bytes is the hash of the parsed tree's NAR.
    assert.deepEqual(Buffer.from(serialiseNar(regularFromBytes(want.contents, want.executable))), Buffer.from(bytes));
  });
}

function infoFor(store: { storeDir: { makeFixedOutputPath(o: { recursive: boolean; hash: ReturnType<typeof hashBytes>; name: string }): StorePath } }, name: string, n: Uint8Array): ValidPathInfo {
  const narHash = hashBytes('sha256', n);
  const path = store.storeDir.makeFixedOutputPath({ recursive: true, hash: narHash, name });
  return { path, narHash, narSize: n.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:sha256:${narHash.base32}` };
}

test('addToStoreNarSync: the same file and registration as addToStoreNar', async () => {
  const a = tempStore('tix-sync-a-');
  const z = tempStore('tix-sync-b-');
  try {
    // A fresh store's first add opens its temp-roots file, which takes a wait: declined until then.
    await a.store.tempRoots.ready();
    for (const [name, n] of [['plain', nar('hello\n')], ['exe', nar('#!/bin/sh\n', true)], ['empty', nar('')], ['size-zero', nar('given as 0')]] as const) {
      const info = infoFor(a.store, name, n);
      if (name === 'size-zero') info.narSize = 0;
      assert.equal(a.store.addToStoreNarSync(info, n), true);
      await z.store.addToStoreNar(info, once(n));
      const pa = a.store.print(info.path);
      const pz = z.store.print(info.path);
      assert.deepEqual(readFileSync(pa), readFileSync(pz));
      const [sa, sz] = [lstatSync(pa), lstatSync(pz)];
      assert.deepEqual([sa.mode, sa.mtimeMs, sa.uid, sa.gid], [sz.mode, sz.mtimeMs, sz.uid, sz.gid]);
      const [ia, iz] = [(await a.store.queryPathInfo(info.path))!, (await z.store.queryPathInfo(info.path))!];
      assert.ok(Math.abs(ia.registrationTime - iz.registrationTime) < 5);
      assert.deepEqual({ ...ia, registrationTime: 0 }, { ...iz, registrationTime: 0 });
      assert.equal(ia.narSize, n.length);
      // Again: valid already, nothing to do.
      assert.equal(a.store.addToStoreNarSync(info, n), true);
    }
  } finally {
    await a.done();
    await z.done();
  }
});

test('addToStoreNarSync: declines, with nothing written or registered, what addToStoreNar must do or refuse', async () => {
  const t = tempStore('tix-sync-d-');
  try {
    await t.store.tempRoots.ready();
    const n = nar('declined');
    const info = infoFor(t.store, 'd', n);
    const dir = serialiseNar(memTreeNode({ type: 'directory', entries: new Map() }));
    const declined: [string, ValidPathInfo, Uint8Array, boolean?][] = [
      ['wrong hash', { ...info, narHash: hashBytes('sha256', 'other') }, n],
      ['wrong size', { ...info, narSize: n.length + 8 }, n],
      ['a directory', { ...info, narHash: hashBytes('sha256', dir), narSize: dir.length }, dir],
      ['repair', info, n, true],
    ];
    for (const [what, i, bytes, repair] of declined) {
      assert.equal(t.store.addToStoreNarSync(i, bytes, { repair }), false, what);
      assert.equal(existsSync(t.store.print(info.path)), false, what);
      assert.equal(await t.store.queryPathInfo(info.path), undefined, what);
    }
    // A reference to an invalid path throws as addToStoreNar does.
    const bogus = new StorePath('0'.repeat(32) + '-missing');
    assert.throws(() => t.store.addToStoreNarSync({ ...info, references: [bogus] }, n), /which is not valid/);
    // A leftover under the final name is replaced.
    writeFileSync(t.store.print(info.path), 'half');
    assert.equal(t.store.addToStoreNarSync(info, n), true);
    assert.deepEqual(readFileSync(t.store.print(info.path)), Buffer.from('declined'));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(readdirSync(join(t.dir, 'store')).filter((x) => x.includes('tix-tmp') || x.endsWith('.lock')), []);
  } finally {
    await t.done();
  }
});

/** Version-gated encodings (spec §3, §10) and unframed NAR end detection (§2.7). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Settings } from '../../core/index.js';
import { StoreDir, StorePath, WireParser, WireWriter, hashBytes } from '../../formats/index.js';
import type { BuildResult, DerivedPath, ValidPathInfo } from '../../store/store.js';
import { narOfFile } from '../testing/memory-store.js';
import { SocketSink } from './connection.js';
import { handshakeServer } from './handshake.js';
import { copyNar } from './nar-stream.js';
import { WireReader, type ChunkSource } from './reader.js';
import {
  parseDerivedPath,
  printDerivedPath,
  readBuildResult,
  readErrorRecord,
  readPathInfo,
  writeBuildResult,
  writeErrorRecord,
  writePathInfo,
} from './serialise.js';
import { STDERR_LAST, WORKER_MAGIC_1, WORKER_MAGIC_2 } from './version.js';

const sd = new StoreDir('/nix/store');
const drv = new StorePath('a'.repeat(32) + '-x.drv');
const out = new StorePath('b'.repeat(32) + '-x');

function chunks(...bufs: Uint8Array[]): ChunkSource {
  const q = [...bufs];
  return { next: async () => q.shift() ?? null };
}

test('DerivedPath strings per version', () => {
  const cases: [string, DerivedPath, number, string][] = [
    ['opaque drv ≥1.30', { kind: 'opaque', path: drv }, 30, `/nix/store/${drv}`],
    ['all outputs ≥1.30', { kind: 'built', drvPath: drv, outputs: 'all' }, 34, `/nix/store/${drv}!*`],
    ['all outputs <1.30', { kind: 'built', drvPath: drv, outputs: 'all' }, 29, `/nix/store/${drv}`],
    ['named outputs', { kind: 'built', drvPath: drv, outputs: ['out', 'dev'] }, 34, `/nix/store/${drv}!out,dev`],
    ['opaque output', { kind: 'opaque', path: out }, 21, `/nix/store/${out}`],
  ];
  for (const [name, d, minor, s] of cases) {
    assert.equal(printDerivedPath(sd, d, minor), s, name);
    const back = parseDerivedPath(sd, s, minor);
    assert.deepEqual(JSON.stringify(back), JSON.stringify(d), name);
  }
  // A bare .drv means "build it" to an old peer, "the file itself" to a new one.
  assert.equal(parseDerivedPath(sd, `/nix/store/${drv}`, 29).kind, 'built');
  assert.equal(parseDerivedPath(sd, `/nix/store/${drv}`, 30).kind, 'opaque');
});

test('BuildResult fields are gated on the version', () => {
  const r: BuildResult = { status: 0, errorMsg: '', timesBuilt: 1, isNonDeterministic: false, startTime: 10, stopTime: 20, builtOutputs: new Map([['out', out]]) };
  const sizes: [number, number][] = [
    [27, 8 + 8], // status + empty errorMsg
    [28, 8 + 8 + 8 + (8 + 80) + 8 + 0], // + builtOutputs map (1 entry), computed below
    [29, 0],
    [37, 0],
  ];
  const len = (minor: number): number => {
    const w = new WireWriter();
    writeBuildResult(w, sd, r, minor);
    return w.length;
  };
  assert.equal(len(27), sizes[0]![1]);
  assert.ok(len(28) > len(27));
  assert.equal(len(29) - len(28), 32, 'timesBuilt, isNonDeterministic, startTime, stopTime');
  assert.equal(len(37) - len(29), 16, 'cpuUser/cpuSystem absent tags');
  for (const minor of [27, 28, 29, 34, 37]) {
    const w = new WireWriter();
    writeBuildResult(w, sd, r, minor);
    const p = new WireParser(w.take());
    const back = readBuildResult(p, minor);
    assert.equal(p.remaining, 0, `minor ${minor} consumed exactly`);
    assert.equal(back.status, 0);
    if (minor >= 28) assert.equal(back.builtOutputs.get('out')?.baseName, out.baseName);
    if (minor >= 29) assert.equal(back.stopTime, 20);
  }
});

test('ValidPathInfo: ultimate/sigs/ca only from format 16', () => {
  const info = { path: out, narHash: hashBytes('sha256', 'x'), references: [drv], registrationTime: 5, narSize: 8, ultimate: true, sigs: ['k:s'], ca: `fixed:r:${hashBytes('sha256', 'y').toString('base32')}` };
  for (const minor of [15, 16, 37]) {
    const w = new WireWriter();
    writePathInfo(w, sd, info, minor);
    const p = new WireParser(w.take());
    const back = readPathInfo(p, sd, minor);
    assert.equal(p.remaining, 0);
    assert.equal(back.narHash.base16, info.narHash.base16);
    assert.deepEqual(back.sigs, minor >= 16 ? ['k:s'] : []);
    assert.equal(back.ca, minor >= 16 ? info.ca : undefined);
  }
  // Malformed content addresses and signatures are refused before they reach a store.
  const bads: [string, ValidPathInfo][] = [['ca', { ...info, ca: 'fixed:r:sha256:abc' }], ['sig', { ...info, sigs: ['a b:c'] }]];
  for (const [name, bad] of bads) {
    const w = new WireWriter();
    writePathInfo(w, sd, bad, 16);
    assert.throws(() => readPathInfo(new WireParser(w.take()), sd, 16), /wrong length|invalid signature/, name);
  }
});

test('error records: structured ≥1.26, message + status before', () => {
  const e = { message: 'boom', status: 100, traces: ['while doing x'] };
  for (const minor of [21, 25, 26, 37]) {
    const w = new WireWriter();
    writeErrorRecord(w, e, minor);
    const p = new WireParser(w.take());
    const back = readErrorRecord(p, minor);
    assert.equal(p.remaining, 0);
    assert.equal(back.message, 'boom');
    if (minor < 26) assert.equal(back.status, 100);
    else assert.deepEqual(back.traces, ['while doing x']);
  }
});

test('copyNar stops exactly at the end of the NAR', async () => {
  const dir = new WireWriter().string('nix-archive-1').string('(').string('type').string('directory');
  for (const [name, body] of [['a', 'x'], ['b', 'yy']] as const) {
    dir.string('entry').string('(').string('name').string(name).string('node');
    dir.string('(').string('type').string('regular').string('contents').string(body).string(')').string(')');
  }
  dir.string('entry').string('(').string('name').string('l').string('node').string('(').string('type').string('symlink').string('target').string('a').string(')').string(')');
  dir.string(')');
  const nars = [narOfFile(new Uint8Array(1000).fill(7), true), dir.take()];
  for (const nar of nars) {
    const trailer = new WireWriter().u64(12345).take();
    // Split across odd chunk boundaries.
    const all = Buffer.concat([nar, trailer]);
    const r = new WireReader(chunks(all.subarray(0, 13), all.subarray(13, 99), all.subarray(99)));
    const got: Uint8Array[] = [];
    for await (const c of copyNar(r)) got.push(c);
    assert.deepEqual(Buffer.concat(got), Buffer.from(nar));
    assert.equal(await r.u64(), 12345);
  }
});

test('copyNar rejects malformed NARs', async () => {
  const bad: [string, WireWriter][] = [
    ['bad magic', new WireWriter().string('nix-archive-2')],
    ['unknown type', new WireWriter().string('nix-archive-1').string('(').string('type').string('fifo')],
    ['dot entry', new WireWriter().string('nix-archive-1').string('(').string('type').string('directory').string('entry').string('(').string('name').string('..')],
    ['unsorted', new WireWriter().string('nix-archive-1').string('(').string('type').string('directory')
      .string('entry').string('(').string('name').string('b').string('node').string('(').string('type').string('symlink').string('target').string('x').string(')').string(')')
      .string('entry').string('(').string('name').string('a')],
  ];
  for (const [name, w] of bad) {
    const r = new WireReader(chunks(w.take()));
    await assert.rejects((async () => { for await (const _ of copyNar(r)) void _; })(), /Nix archive|file type|file name|sorted/, name);
  }
});

test('handshake: negotiates 1.21–1.37, newer clients down to 1.37, refuses older', async () => {
  const cases: [number, number | 'refused'][] = [
    [0x115, 21], [0x11a, 26], [0x122, 34], [0x123, 35], [0x125, 37], [0x126, 37], [0x114, 'refused'], [0x222, 'refused'],
  ];
  for (const [client, want] of cases) {
    const input = new WireWriter().u64(WORKER_MAGIC_1).u64(client).u64(0).u64(0).take();
    const written: Uint8Array[] = [];
    const sink = { write: (b: Uint8Array) => void written.push(b), flush: async () => undefined } as unknown as SocketSink;
    const r = new WireReader(chunks(input));
    const res = await handshakeServer(r, sink, { trusted: false, settings: new Settings() }).catch(() => 'refused' as const);
    assert.equal(res, want, `client ${client.toString(16)}`);
    if (res === 'refused') continue;
    const p = new WireParser(Buffer.concat(written));
    assert.equal(p.u64(), WORKER_MAGIC_2);
    assert.equal(p.u64(), 0x125);
    if (res >= 33) assert.equal(p.string(), '2.8.0');
    if (res >= 35) assert.equal(p.u64(), 2, 'untrusted');
    assert.equal(p.u64(), STDERR_LAST);
    assert.equal(p.remaining, 0);
  }
});

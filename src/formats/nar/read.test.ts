import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialiseNar } from './write.js';
import { memTreeNode, type MemTree } from './node.js';
import { parseNar } from './read.js';
import { ByteReader } from './reader.js';
import { narListing, narToMemTree, printNarListing } from './listing.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
function u64(n: number): Buffer {
  const x = Buffer.alloc(8);
  x.writeBigUInt64LE(BigInt(n));
  return x;
}
function str(s: string | Uint8Array, padByte = 0): Buffer {
  const v = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s);
  return Buffer.concat([u64(v.length), v, Buffer.alloc((8 - (v.length % 8)) % 8, padByte)]);
}
const nar = (...toks: (string | Buffer)[]): Uint8Array => new Uint8Array(Buffer.concat(toks.map((t) => (typeof t === 'string' ? str(t) : t))));

const file = (s: string, executable = false): MemTree => ({ type: 'regular', contents: b(s), executable });
const TREE: MemTree = {
  type: 'directory',
  entries: new Map<string, MemTree>([
    ['B', file('B')],
    ['a.txt', file('hello\n')],
    ['link', { type: 'symlink', target: b('a.txt') }],
    ['run.sh', file('#!/bin/sh\necho hi\n', true)],
    ['sub', { type: 'directory', entries: new Map([['empty', file('')]]) }],
  ]),
};

/** Re-serialise a parsed tree: equal bytes means the parse kept everything. */
async function roundTrip(bytes: Uint8Array, chunk: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  const t = await narToMemTree(chunks);
  return serialiseNar(memTreeNode(t));
}

test('parse → serialise is the identity on canonical NARs, for any chunking', async () => {
  const big = new Uint8Array(70_001).map((_, i) => i & 0xff);
  const trees: MemTree[] = [TREE, file(''), file('x', true), { type: 'symlink', target: b('/t') }, { type: 'directory', entries: new Map() },
    { type: 'directory', entries: [[b('\xff\xfe'), { type: 'regular', contents: big }], [b('é'), file('')]] }];
  for (const t of trees) {
    const bytes = serialiseNar(memTreeNode(t));
    for (const c of [1, 7, 8, 13, 4096, bytes.length]) assert.deepEqual(await roundTrip(bytes, c), bytes);
  }
});

test('listing offsets match the spec for tree/', async () => {
  const l = await narListing([serialiseNar(memTreeNode(TREE))]);
  const e = (l.root as unknown as { entries: Map<string, { narOffset?: number; entries: Map<string, { narOffset: number }> }> }).entries;
  assert.equal(e.get('B')!.narOffset, 232);
  assert.equal(e.get('a.txt')!.narOffset, 424);
  assert.equal(e.get('run.sh')!.narOffset, 840);
  assert.equal(e.get('sub')!.entries.get('empty')!.narOffset, 1184);
  assert.deepEqual(e.get('run.sh'), { type: 'regular', size: 18, executable: true, narOffset: 840 });
  assert.equal(printNarListing(l), '{"version":1,"root":{"type":"directory","entries":{"B":{"type":"regular","size":1,"narOffset":232},' +
    '"a.txt":{"type":"regular","size":6,"narOffset":424},"link":{"type":"symlink","target":"a.txt"},' +
    '"run.sh":{"type":"regular","size":18,"executable":true,"narOffset":840},"sub":{"type":"directory","entries":{"empty":{"type":"regular","size":0,"narOffset":1184}}}}}}');
});

const dir = (...entries: Buffer[]): Buffer[] => [str('('), str('type'), str('directory'), ...entries, str(')')];
const entry = (name: string | Uint8Array, node: Buffer[]): Buffer => Buffer.concat([str('entry'), str('('), str('name'), str(name), str('node'), ...node, str(')')]);
const reg = (s: string): Buffer[] => [str('('), str('type'), str('regular'), str('contents'), str(s), str(')')];

const BAD: { name: string; bytes: Uint8Array; msg: RegExp }[] = [
  { name: 'bad magic', bytes: nar('nix-archive-2', ...reg('x')), msg: /doesn't look like a Nix archive/ },
  { name: 'empty input', bytes: new Uint8Array(0), msg: /doesn't look like a Nix archive/ },
  { name: 'non-zero padding', bytes: nar('nix-archive-1', str('('), str('type'), str('regular'), str('contents'), str('x', 1), str(')')), msg: /non-zero padding/ },
  { name: 'unsorted', bytes: nar('nix-archive-1', ...dir(entry('b', reg('')), entry('a', reg('')))), msg: /not sorted/ },
  { name: 'duplicate', bytes: nar('nix-archive-1', ...dir(entry('a', reg('')), entry('a', reg('')))), msg: /duplicate/ },
  { name: 'empty name', bytes: nar('nix-archive-1', ...dir(entry('', reg('')))), msg: /invalid file name/ },
  { name: 'dot', bytes: nar('nix-archive-1', ...dir(entry('.', reg('')))), msg: /invalid file name/ },
  { name: 'dotdot', bytes: nar('nix-archive-1', ...dir(entry('..', reg('')))), msg: /invalid file name/ },
  { name: 'slash', bytes: nar('nix-archive-1', ...dir(entry('a/b', reg('')))), msg: /invalid file name/ },
  { name: 'NUL', bytes: nar('nix-archive-1', ...dir(entry('a\0', reg('')))), msg: /invalid file name/ },
  { name: 'executable value', bytes: nar('nix-archive-1', '(', 'type', 'regular', 'executable', 'x', 'contents', 'a', ')'), msg: /non-empty value/ },
  { name: 'contents before executable', bytes: nar('nix-archive-1', '(', 'type', 'regular', 'contents', 'a', 'executable', '', ')'), msg: /expected '\)'/ },
  { name: 'unknown type', bytes: nar('nix-archive-1', '(', 'type', 'fifo', ')'), msg: /unknown file type/ },
  { name: 'absurd length', bytes: nar('nix-archive-1', '(', 'type', 'regular', 'contents', Buffer.from('ffffffffffffff7f', 'hex')), msg: /absurd length/ },
  { name: 'long name', bytes: nar('nix-archive-1', ...dir(entry('x'.repeat(256), reg('')))), msg: /too long/ },
  { name: 'huge token length', bytes: nar('nix-archive-1', u64(1 << 30)), msg: /too long/ },
  { name: 'empty symlink target', bytes: nar('nix-archive-1', '(', 'type', 'symlink', 'target', '', ')'), msg: /symlink target/ },
  { name: 'missing entry close', bytes: nar('nix-archive-1', '(', 'type', 'directory', 'entry', '(', 'name', 'a', 'node', ...reg(''), ')'), msg: /end-of-file/ },
];

for (const c of BAD) {
  test(`rejects: ${c.name}`, async () => {
    await assert.rejects(parseNar([c.bytes], { directory() {}, fileStart() {}, fileData() {}, fileEnd() {}, symlink() {} }), (e: Error) => {
      assert.equal(e.name, 'NixError');
      assert.match(e.message, c.msg);
      return true;
    });
  });
}

test('every truncation of a valid NAR is an error', async () => {
  const bytes = serialiseNar(memTreeNode(TREE));
  for (let n = 0; n < bytes.length; n++) {
    await assert.rejects(narToMemTree([bytes.subarray(0, n)]), (e: Error) => e.name === 'NixError', `cut at ${n}`);
  }
});

test('parsing stops at the end of the NAR; the rest stays in the reader', async () => {
  const bytes = serialiseNar(memTreeNode(TREE));
  const r2 = new ByteReader([bytes.subarray(0, 100), new Uint8Array([...bytes.subarray(100), 1, 2, 3])]);
  await parseNar(r2, { directory() {}, fileStart() {}, fileData() {}, fileEnd() {}, symlink() {} });
  assert.equal(r2.consumed, bytes.length);
  assert.deepEqual([...r2.leftover()], [1, 2, 3]);
});

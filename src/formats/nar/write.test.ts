import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { narChunks, serialiseNar } from './write.js';
import { memTreeNode, regularFromBytes, type MemTree } from './node.js';
import { encodeBase32 } from '../nixbase32.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const file = (s: string, executable = false): MemTree => ({ type: 'regular', contents: b(s), executable });
const link = (s: string): MemTree => ({ type: 'symlink', target: b(s) });
const dir = (entries: Record<string, MemTree>): MemTree => ({ type: 'directory', entries: new Map(Object.entries(entries)) });
const sha = (x: Uint8Array): string => createHash('sha256').update(x).digest('hex');
const sha32 = (x: Uint8Array): string => encodeBase32(new Uint8Array(createHash('sha256').update(x).digest()));

// spec formats.md §3.4
const cases: { name: string; tree: MemTree; size: number; hex?: string; b32?: string }[] = [
  { name: 'hello.txt', tree: file('hello\n'), size: 120, hex: '1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13' },
  { name: 'hello.txt executable', tree: file('hello\n', true), size: 152, b32: '1yhh619m3cy1mird7f0l7zsmiv9rayqn075zinda2g7rscwn0hv5' },
  { name: 'symlink', tree: link('/some/target'), size: 128, hex: 'aa13fe631ca328e24d23d581ef107cf7db77c0ad9987377358dee2e343d20178' },
  { name: 'empty directory', tree: dir({}), size: 96, hex: 'a50a5ab6d992f5598edd92105059fae9acfc192981e08bd88534c2167e92526a' },
  {
    name: 'small/',
    tree: dir({ l: link('f'), f: file('x'), d: dir({}) }),
    size: 648,
    hex: 'c5268038cb13f24ab0823ae0e1d06154f02f583862bf7509346d473542b94d05',
  },
  {
    name: 'tree/',
    tree: dir({ 'run.sh': file('#!/bin/sh\necho hi\n', true), sub: dir({ empty: file('') }), link: link('a.txt'), 'a.txt': file('hello\n'), B: file('B') }),
    size: 1264,
    hex: '0eb322003c9167ee655500a0faf3313f7576e9da2157728e3ee66668866df0e8',
  },
  {
    name: 'ord/ byte-wise order',
    tree: dir(Object.fromEntries(['a', 'Z', '_', 'é', '10', '9', '.dot', 'A-b'].map((n) => [n, file(n)]))),
    size: -1,
    b32: '0qsmbmbqc7zafm9fpsi7arb7absayhap4l1iczh57lwh9cmq5gn1',
  },
];

for (const c of cases) {
  test(`NAR vector: ${c.name}`, () => {
    const nar = serialiseNar(memTreeNode(c.tree));
    if (c.size >= 0) assert.equal(nar.length, c.size);
    if (c.hex) assert.equal(sha(nar), c.hex);
    if (c.b32) assert.equal(sha32(nar), c.b32);
  });
}

test('hello.txt NAR bytes are exact', () => {
  const expected =
    '0d000000000000006e69782d617263686976652d31000000' +
    '01000000000000002800000000000000' +
    '04000000000000007479706500000000' +
    '0700000000000000726567756c617200' +
    '0800000000000000636f6e74656e7473' +
    '060000000000000068656c6c6f0a0000' +
    '01000000000000002900000000000000';
  assert.equal(Buffer.from(serialiseNar(memTreeNode(file('hello\n')))).toString('hex'), expected);
});

test('chunking does not change the bytes', () => {
  const big = new Uint8Array(300_001).map((_, i) => (i * 7) & 0xff);
  const tree: MemTree = dir({ big: { type: 'regular', contents: big }, s: file('x'), l: link('big') });
  const whole = serialiseNar(memTreeNode(tree));
  for (const chunkSize of [64, 100, 4096, 1 << 20]) {
    const parts: Buffer[] = [];
    for (const c of narChunks(memTreeNode(tree), { chunkSize })) parts.push(Buffer.from(c)); // copy: reused buffer
    assert.deepEqual(new Uint8Array(Buffer.concat(parts)), whole, `chunkSize ${chunkSize}`);
  }
});

test('a source that ends early is an error, not a short NAR', () => {
  const f = regularFromBytes(b('abc'));
  const lying = { ...f, size: 10 };
  assert.throws(() => serialiseNar(lying), /file changed/);
});

test('invalid or duplicate entry names are refused', () => {
  for (const bad of ['', '.', '..', 'a/b', 'a\0b']) {
    const t: MemTree = { type: 'directory', entries: [[b(bad), file('x')]] };
    assert.throws(() => serialiseNar(memTreeNode(t)), /invalid file name/, JSON.stringify(bad));
  }
  const dup: MemTree = { type: 'directory', entries: [[b('a'), file('x')], [b('a'), file('y')]] };
  assert.throws(() => serialiseNar(memTreeNode(dup)), /duplicate/);
});

test('close() is called even when the consumer stops early', () => {
  let closed = 0;
  const f = { ...regularFromBytes(new Uint8Array(1 << 16)), close: () => void closed++ };
  const it = narChunks(f, { chunkSize: 1024 });
  it.next();
  it.return(undefined);
  assert.equal(closed, 1);
});

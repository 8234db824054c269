import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireParser, WireShortRead, WireWriter, padLength } from './primitives.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('u64 little-endian encodings', () => {
  const cases: [number | bigint, string][] = [
    [0, '0000000000000000'],
    [1, '0100000000000000'],
    [0x6e697863, '6378696e00000000'],
    [2 ** 53 - 1, 'ffffffffffff1f00'],
    [(1n << 64n) - 1n, 'ffffffffffffffff'],
  ];
  for (const [v, h] of cases) assert.equal(hex(new WireWriter().u64(v).take()), h, String(v));
});

test('strings are padded to 8 with zeros', () => {
  const cases: [string, string][] = [
    ['', '0000000000000000'],
    ['a', '0100000000000000' + '61' + '00'.repeat(7)],
    ['2.8.0', '0500000000000000' + '322e382e30000000'],
    ['12345678', '0800000000000000' + '3132333435363738'],
  ];
  for (const [s, h] of cases) {
    const b = new WireWriter().string(s).take();
    assert.equal(hex(b), h, s);
    assert.equal(new WireParser(b).string(), s);
  }
  for (let n = 0; n < 20; n++) assert.equal((n + padLength(n)) % 8, 0);
});

test('parser rejects non-zero padding, oversize and short input', () => {
  const bad = Buffer.from('0100000000000000' + '61' + '00'.repeat(6) + '01', 'hex');
  assert.throws(() => new WireParser(bad).string(), /non-zero padding/);
  const big = new WireWriter().u64(100).take();
  assert.throws(() => new WireParser(big).bytes(10), /exceeds the limit/);
  assert.throws(() => new WireParser(big).bytes(), WireShortRead);
  const huge = new WireWriter().u64((1n << 64n) - 1n).take();
  assert.throws(() => new WireParser(huge).u64(), /too large/);
  const op = new WireWriter().u64(2 ** 40).take();
  assert.throws(() => new WireParser(op).u32(), /too large for type 'j'/);
});

test('a short read leaves the position unchanged', () => {
  const b = new WireWriter().string('hello world').take();
  const p = new WireParser(b.subarray(0, 12));
  assert.throws(() => p.bytes(), WireShortRead);
  assert.equal(p.pos, 0);
});

test('lists and maps round-trip; booleans are 0/1 on write, lenient on read', () => {
  const w = new WireWriter().strings(['a', 'bc']).stringMap([['k', 'v']]).bool(true).bool(false).u64(2);
  const p = new WireParser(w.take());
  assert.deepEqual(p.strings(), ['a', 'bc']);
  assert.deepEqual(p.stringMap(), [['k', 'v']]);
  assert.equal(p.bool(), true);
  assert.equal(p.bool(), false);
  assert.equal(p.bool(), true);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefScanner, scanForReferences } from './references.js';
import { StorePath } from './store-path.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const PLAIN = '97jr0cq9m16l8q8818fcgs00iqgz3p51';
const SRC = '98f9f7bw1ybgwjv76h51bjp6srk5rv5z';
const DEV = 'zzk55k6wy2grnmvhgihfy51vgv4bc6qj';

function scanSplit(text: string, cands: string[], splits: number[]): string[] {
  const s = new RefScanner(cands);
  const data = b(text);
  let prev = 0;
  for (const at of [...splits, data.length]) {
    s.update(data.subarray(prev, at));
    prev = at;
  }
  return [...s.found].sort();
}

const cases: { name: string; text: string; want: string[] }[] = [
  { name: 'bare hash', text: `${PLAIN}\n${SRC}\n`, want: [PLAIN, SRC] },
  { name: 'full path', text: `/x/store/${PLAIN}-plain/bin`, want: [PLAIN] },
  { name: 'overlapping windows', text: `a${PLAIN.slice(0, 10)}${PLAIN}`, want: [PLAIN] },
  { name: 'not base32 around', text: `E${DEV}E`, want: [DEV] },
  { name: 'one char short', text: PLAIN.slice(1), want: [] },
  { name: 'uppercase is not a hit', text: PLAIN.toUpperCase(), want: [] },
  { name: 'empty', text: '', want: [] },
];

for (const c of cases) {
  test(`reference scan: ${c.name}`, () => {
    assert.deepEqual(scanSplit(c.text, [PLAIN, SRC, DEV], []), [...c.want].sort());
  });
}

test('hits across every chunk boundary position', () => {
  const text = `xx${PLAIN}yy${DEV}`;
  for (let a = 0; a <= text.length; a++) {
    for (const step of [1, 3, 7]) {
      const splits: number[] = [];
      for (let p = a; p < text.length; p += step) splits.push(p);
      assert.deepEqual(scanSplit(text, [PLAIN, DEV, SRC], splits), [PLAIN, DEV].sort(), `a=${a} step=${step}`);
    }
  }
});

test('scanForReferences maps back to paths, sorted', () => {
  const paths = [new StorePath(`${SRC}-src.txt`), new StorePath(`${PLAIN}-plain`), new StorePath(`${DEV}-multi-dev`)];
  const found = scanForReferences([b(`${SRC} and ${PLAIN}`)], paths);
  assert.deepEqual(found.map(String), [`${PLAIN}-plain`, `${SRC}-src.txt`]);
});

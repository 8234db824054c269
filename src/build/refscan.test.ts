import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefScanner, StreamRewriter } from './refscan.js';

const H1 = '97jr0cq9m16l8q8818fcgs00iqgz3p51';
const H2 = '98f9f7bw1ybgwjv76h51bjp6srk5rv5z';
const H3 = 'zzk55k6wy2grnmvhgihfy51vgv4bc6qj';

function scan(chunks: string[], candidates = [H1, H2, H3]): string[] {
  const s = new RefScanner(new Map(candidates.map((h) => [h, h])));
  for (const c of chunks) s.update(Buffer.from(c, 'latin1'));
  return [...s.result()].sort();
}

test('reference scanning (spec §7)', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['bare hash parts', [`${H1}\n${H2}\n`], [H1, H2].sort()],
    ['with store dir and name', [`/nix/store/${H1}-plain x`], [H1]],
    ['split across chunks', [`xx/${H1.slice(0, 7)}`, H1.slice(7, 20), `${H1.slice(20)}-a`], [H1]],
    ['overlapping windows', [`e${H3}${H2}`], [H2, H3].sort()],
    ['non-candidates ignored', ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'], []],
    ['invalid chars break windows', [`${H1.slice(0, 31)}e${H1.slice(31)}`], []],
    ['empty', [''], []],
  ];
  for (const [name, chunks, want] of cases) assert.deepEqual(scan(chunks), want, name);
});

test('stream rewriting keeps lengths and crosses chunks', () => {
  const r = new StreamRewriter(new Map([[H1, H2]]));
  const input = `a/${H1}-x ${H1}`;
  let out = '';
  for (let i = 0; i < input.length; i += 5) out += r.update(Buffer.from(input.slice(i, i + 5), 'latin1')).toString('latin1');
  out += r.finish().toString('latin1');
  assert.equal(out, `a/${H2}-x ${H2}`);
});

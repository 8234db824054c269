import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, lstatSync, readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { ByteReader, hashBytes, memTreeNode, serialiseNar, type MemTree } from '../../formats/index.js';
import { dumpPathSync } from '../nar-fs.js';
import { restoreNarHashed } from './nar.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const file = (s: string, executable = false): MemTree => ({ type: 'regular', contents: b(s), executable });
const dir = (entries: [string, MemTree][]): MemTree => ({ type: 'directory', entries: new Map(entries) });

/** Trees whose hash must come out of the parse events byte for byte: every node kind, nesting, padding lengths. */
const cases: [string, MemTree][] = [
  ['empty file', file('')],
  ['file of 8 bytes (no padding)', file('12345678')],
  ['executable file', file('#!/bin/sh\n', true)],
  ['big file (several chunks)', file('x'.repeat(3 * 1024 * 1024 + 5))],
  ['symlink', { type: 'symlink', target: b('../some/where') }],
  ['empty directory', dir([])],
  ['nested directories, closed at several depths', dir([
    ['a', dir([['b', dir([['c', file('deep')]])], ['d', file('')]])],
    ['bb', dir([])],
    ['e', { type: 'symlink', target: b('a/b') }],
    ['f', dir([['g', dir([['h', dir([])]])]])],
    ['z', file('last', true)],
  ])],
  ['long names', dir([['n'.repeat(200), file('1')], ['o'.repeat(13), dir([['p'.repeat(9), file('2')]])]])],
];

async function* chunks(nar: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < nar.length; i += size) yield nar.subarray(i, i + size);
}

for (const [name, tree] of cases) {
  test(`restoreNarHashed: ${name}: hash and size of the NAR, tree restored canonical`, async () => {
    const nar = serialiseNar(memTreeNode(tree));
    const dirp = mkdtempSync(join(tmpdir(), 'tix-nar-'));
    try {
      for (const chunk of nar.length > 100_000 ? [65536, nar.length] : [7, 4096, nar.length]) {
        const target = join(dirp, `t${chunk}`);
        const r = await restoreNarHashed(target, chunks(nar, chunk), 'sha512');
        assert.equal(r.narSize, nar.length);
        assert.equal(r.narHash.base16, hashBytes('sha256', nar).base16);
        assert.equal(r.caHash.base16, hashBytes('sha512', nar).base16);
        assert.equal(r.inMemory, undefined);
        // What is on disk serialises to the same NAR, with canonical metadata throughout.
        const dumped: Buffer[] = [];
        for (const c of dumpPathSync(target, 65536)) dumped.push(Buffer.from(c)); // the dumper reuses its buffer
        assert.ok(Buffer.concat(dumped).equals(nar), 'dump of the restored tree');
        const walk = (p: string): void => {
          const st = lstatSync(p);
          assert.equal(st.mtimeMs, 1000, `${p}: mtime`);
          if (st.isSymbolicLink()) return;
          assert.ok([0o444, 0o555].includes(st.mode & 0o7777), `${p}: mode ${(st.mode & 0o7777).toString(8)}`);
          if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
        };
        walk(target);
      }
    } finally {
      spawnSync('chmod', ['-R', 'u+w', dirp]);
      rmSync(dirp, { recursive: true, force: true });
    }
  });
}

test('restoreNarHashed: a small single file stays in memory; the hash covers the NAR only, not what follows it', async () => {
  const nar = serialiseNar(memTreeNode(file('hello\n', true)));
  const reader = new ByteReader(chunks(Buffer.concat([nar, Buffer.from('trailing bytes')]), 5));
  const dirp = mkdtempSync(join(tmpdir(), 'tix-nar-'));
  try {
    const r = await restoreNarHashed(join(dirp, 't'), reader, 'sha256', { inMemoryMax: 1024 });
    assert.equal(r.narHash.base16, hashBytes('sha256', nar).base16);
    assert.equal(r.narSize, nar.length);
    assert.deepEqual(Buffer.from(r.inMemory!.contents), Buffer.from('hello\n'));
    assert.equal(r.inMemory!.executable, true);
    assert.equal(readdirSync(dirp).length, 0, 'nothing written');
    assert.equal(Buffer.from(await reader.readExact(14)).toString(), 'trailing bytes');
    // Over the limit, and anything but a single file, goes to disk.
    const big = await restoreNarHashed(join(dirp, 'u'), chunks(nar, 64), 'sha256', { inMemoryMax: 3 });
    assert.equal(big.inMemory, undefined);
    assert.equal(readFileSync(join(dirp, 'u'), 'utf8'), 'hello\n');
    const sym = await restoreNarHashed(join(dirp, 'v'), chunks(serialiseNar(memTreeNode({ type: 'symlink', target: b('x') })), 64), 'sha256', { inMemoryMax: 1024 });
    assert.equal(sym.inMemory, undefined);
    assert.equal(readlinkSync(join(dirp, 'v')), 'x');
  } finally {
    spawnSync('chmod', ['-R', 'u+w', dirp]);
    rmSync(dirp, { recursive: true, force: true });
  }
});

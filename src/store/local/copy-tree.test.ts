import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hashPath } from '../nar-fs.js';
import { copyTreeHashed } from './copy-tree.js';
import { WriteChooser, type WriteMode } from './direct-io.js';

/** Sizes around every boundary the copier has: sync writes, blocks, O_DIRECT's 4 KiB and 1 MiB. */
const SIZES = [0, 1, 4095, 128 * 1024, 128 * 1024 + 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 4096, (1 << 20) + 4097, 3 * (1 << 20) + 123];

/** A fixed-seed byte generator (an LCG is plenty for test contents). */
function bytes(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24);
}

function makeTree(dir: string, seed: number): void {
  const next = bytes(seed);
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(dir, 'empty-dir'));
  SIZES.forEach((size, i) => {
    const buf = Buffer.alloc(size);
    for (let j = 0; j < size; j++) buf[j] = next();
    const f = join(dir, i % 2 ? 'sub' : '.', `f${i}`);
    writeFileSync(f, buf);
    if (i % 3 === 0) chmodSync(f, 0o755);
  });
  writeFileSync(join(dir, 'sub', 'deeper', Buffer.from([0x6e, 0xff, 0x2e]).toString('latin1')), 'latin1 name\n');
  symlinkSync('../f0', join(dir, 'sub', 'link'));
  symlinkSync('dangling', join(dir, 'dangling'));
}

/** Same tree shape and bytes; every copied entry canonical (0444/0555, mtime 1). */
function assertCanonicalCopy(src: string, dst: string): void {
  const s = lstatSync(src);
  const d = lstatSync(dst);
  assert.equal(d.mtimeMs, 1000, `mtime of ${dst}`);
  if (s.isSymbolicLink()) {
    assert.ok(d.isSymbolicLink());
    assert.equal(readlinkSync(dst), readlinkSync(src));
  } else if (s.isDirectory()) {
    assert.equal(d.mode & 0o7777, 0o555, `mode of ${dst}`);
    const names = readdirSync(src).sort();
    assert.deepEqual(readdirSync(dst).sort(), names);
    for (const n of names) assertCanonicalCopy(join(src, n), join(dst, n));
  } else {
    assert.equal(d.mode & 0o7777, s.mode & 0o100 ? 0o555 : 0o444, `mode of ${dst}`);
    assert.ok(readFileSync(dst).equals(readFileSync(src)), `contents of ${dst}`);
  }
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tix-copytree-'));
    try {
      await fn(dir);
    } finally {
      spawnSync('chmod', ['-R', 'u+w', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

for (const mode of [undefined, 'buffered', 'direct'] as const) {
  test(`copyTreeHashed (${mode ?? 'measured'} writes): NAR hash of the source, a canonical copy`, withDir(async (dir) => {
    const src = join(dir, 'src');
    makeTree(src, 7);
    const want = hashPath(src);
    const got = await copyTreeHashed(src, join(dir, 'copy'), { writeMode: mode as WriteMode | undefined });
    assert.equal(got.hash.base32, want.hash.base32);
    assert.equal(got.narSize, want.narSize);
    assertCanonicalCopy(src, join(dir, 'copy'));
    // Blocks of the files from 1 MiB (the tail of a 1 MiB + 4097 file's last 4 KiB goes buffered either way).
    if (mode === 'buffered') assert.equal(got.written.direct, 0);
    if (mode === 'direct' && got.written.direct === 0) process.stderr.write(`# no O_DIRECT on ${tmpdir()}: written buffered\n`);
    if (mode === 'direct' && got.written.direct > 0) assert.ok(got.written.direct >= 5 << 20, `${got.written.direct} bytes direct`);
    // A single large file and a single symlink as the top object.
    const one = join(src, 'sub', `f${SIZES.length - 1}`);
    const r = await copyTreeHashed(one, join(dir, 'one'), { writeMode: mode as WriteMode | undefined });
    assert.equal(r.hash.base32, hashPath(one).hash.base32);
    assertCanonicalCopy(one, join(dir, 'one'));
    await copyTreeHashed(join(src, 'dangling'), join(dir, 'link'));
    assert.equal(readlinkSync(join(dir, 'link')), 'dangling');
  }));
}

test('copyTreeHashed: a missing source or an existing target fails, and leaves no fd open', withDir(async (dir) => {
  await assert.rejects(copyTreeHashed(join(dir, 'nope'), join(dir, 'x')), /getting status of .*nope.*No such file/);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'big'), Buffer.alloc(3 << 20, 7));
  mkdirSync(join(dir, 'taken'));
  await assert.rejects(copyTreeHashed(join(dir, 'src'), join(dir, 'taken')), /creating directory .*taken.*File exists/);
  const fds = readdirSync('/proc/self/fd').length;
  await copyTreeHashed(join(dir, 'src'), join(dir, 'ok'));
  assert.equal(readdirSync('/proc/self/fd').length, fds);
}));

const chooserCases: [string, { buffered: number; direct: number }, WriteMode][] = [
  ['direct faster', { buffered: 4, direct: 1 }, 'direct'],
  ['buffered faster', { buffered: 1, direct: 30 }, 'buffered'],
];
for (const [name, nsPerByte, want] of chooserCases) {
  test(`WriteChooser: tries both, then keeps mostly to the cheaper per byte (${name})`, () => {
    const c = new WriteChooser();
    const block = 1 << 20;
    const seen: WriteMode[] = [];
    for (let i = 0; i < 400; i++) {
      const m = c.next();
      seen.push(m);
      c.record(m, block, nsPerByte[m] * block);
    }
    assert.deepEqual(seen.slice(0, 2).sort(), ['buffered', 'direct']);
    assert.equal(c.choice, want);
    const other = seen.slice(2).filter((m) => m !== want).length;
    // Explored now and then, less often the bigger the difference.
    assert.ok(other >= 1 && other <= (nsPerByte.direct > 10 ? 3 : 15), `${other} blocks the other way`);
    // Conditions change: the other mode becomes cheaper and is taken up.
    const flipped = { buffered: nsPerByte.direct, direct: nsPerByte.buffered };
    for (let i = 0; i < 2000 && c.choice === want; i++) {
      const m = c.next();
      c.record(m, block, flipped[m] * block);
    }
    assert.notEqual(c.choice, want);
    c.directOk = false;
    assert.equal(c.next(), 'buffered');
  });
}

test('WriteChooser: forced mode', () => {
  assert.equal(new WriteChooser('direct').next(), 'direct');
  const c = new WriteChooser('direct');
  c.directOk = false;
  assert.equal(c.next(), 'buffered');
});

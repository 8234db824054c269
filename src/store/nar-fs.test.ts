import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { dumpPath, hashFile, hashPath, hashPathMulti, restorePath } from './nar-fs.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

function withTree(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tix-narfs-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('tree/ from the spec dumps to the verified hash', withTree(async (d) => {
  const t = join(d, 'tree');
  mkdirSync(join(t, 'sub'), { recursive: true });
  writeFileSync(join(t, 'B'), 'B');
  writeFileSync(join(t, 'a.txt'), 'hello\n');
  symlinkSync('a.txt', join(t, 'link'));
  writeFileSync(join(t, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(t, 'run.sh'), 0o755);
  writeFileSync(join(t, 'sub', 'empty'), '');
  const nar = await collect(dumpPath(t));
  assert.equal(nar.length, 1264);
  const hex = '0eb322003c9167ee655500a0faf3313f7576e9da2157728e3ee66668866df0e8';
  assert.equal(createHash('sha256').update(nar).digest('hex'), hex);
  const h = hashPath(t);
  assert.equal(h.hash.base16, hex);
  assert.equal(h.narSize, 1264);
  // a top-level symlink is archived, not followed
  assert.equal(hashPath(join(t, 'link')).narSize, 120);
}));

test('large paths (worker hashing) agree with the streamed NAR', withTree(async (d) => {
  const t = join(d, 'big');
  mkdirSync(t);
  const blob = Buffer.alloc(3 * 1024 * 1024 + 5);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 31 + (i >> 11)) & 0xff;
  for (let i = 0; i < 5; i++) writeFileSync(join(t, `f${i}`), blob.subarray(i));
  const nar = await collect(dumpPath(t));
  for (const algo of ['sha256', 'sha512', 'md5', 'sha1'] as const) {
    const r = hashPath(t, algo);
    assert.equal(r.narSize, nar.length);
    assert.equal(r.hash.base16, createHash(algo).update(nar).digest('hex'), algo);
  }
  const multi = hashPathMulti(t, ['sha256', 'sha1']);
  assert.equal(multi.hashes[1]!.base16, createHash('sha1').update(nar).digest('hex'));
}));

test('flat file hash, and errors name the path', withTree((d) => {
  writeFileSync(join(d, 'abc'), 'abc');
  assert.equal(hashFile(join(d, 'abc'), 'md5').base16, '900150983cd24fb0d6963f7d28e17f72');
  assert.throws(() => hashPath(join(d, 'nope')), /getting status of '.*nope': No such file or directory/);
}));

test('restore(dump(x)) reproduces x; the target must not exist', withTree(async (d) => {
  const t = join(d, 't');
  mkdirSync(join(t, 'deep', 'er'), { recursive: true });
  writeFileSync(join(t, 'deep', 'er', 'f'), 'data');
  writeFileSync(join(t, 'x'), 'exec');
  chmodSync(join(t, 'x'), 0o700);
  writeFileSync(join(t, Buffer.from([0xff, 0x61]).toString('latin1')), '');
  symlinkSync('../nowhere', join(t, 'l'));
  const nar = await collect(dumpPath(t));
  await restorePath(join(d, 'r'), toAsync([nar]));
  assert.deepEqual(await collect(dumpPath(join(d, 'r'))), nar);
  await assert.rejects(restorePath(join(d, 'r'), toAsync([nar])), /creating directory '.*r': File exists/);
  // a single file and a symlink at top level
  const fnar = await collect(dumpPath(join(t, 'x')));
  await restorePath(join(d, 'rx'), toAsync([fnar]));
  assert.equal(hashPath(join(d, 'rx')).hash.base16, hashPath(join(t, 'x')).hash.base16);
}));

async function* toAsync(xs: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* xs;
}

test('a dump filter drops entries (and what is below them)', withTree(async (d) => {
  const t = join(d, 'f');
  mkdirSync(join(t, 'skip', 'x'), { recursive: true });
  writeFileSync(join(t, 'keep'), 'k');
  writeFileSync(join(t, 'skip', 'x', 'y'), 'y');
  const filtered = await collect(dumpPath(t, 1 << 20, (p, type) => !(type === 'directory' && p.endsWith('/skip'))));
  const only = join(d, 'only');
  mkdirSync(only);
  writeFileSync(join(only, 'keep'), 'k');
  assert.deepEqual(filtered, await collect(dumpPath(only)));
  assert.equal(hashPath(t, 'sha256', (p) => !p.endsWith('/skip')).hash.base16, hashPath(only).hash.base16);
}));

test('a failing walk after the worker started is an error, and the process does not hang', withTree((d) => {
  const t = join(d, 'w');
  mkdirSync(t);
  writeFileSync(join(t, 'a'), Buffer.alloc(6 << 20));
  assert.equal(spawnSync('mkfifo', [join(t, 'b')]).status, 0);
  assert.throws(() => hashPath(t), /has an unsupported type/);
  assert.throws(() => hashPath(t), /has an unsupported type/);
}));

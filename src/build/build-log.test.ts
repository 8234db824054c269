import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreDir } from '../formats/index.js';
import { BuildLogSink } from './build-log.js';

const sd = new StoreDir('/nix/store');
const drv = sd.parse(`/nix/store/${'a'.repeat(32)}-t.drv`);
const logFile = (logDir: string): string => join(logDir, 'drvs', 'aa', `${'a'.repeat(30)}-t.drv`);

test('BuildLogSink: output before and after open lands in the log, in dirs it made, made again after they were removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-log-test-'));
  try {
    const cases: [string, Uint8Array[], Uint8Array[]][] = [
      ['first', [Buffer.from('early\n')], [Buffer.from('a\n'), Buffer.from('b')]],
      ['dirs removed meanwhile', [], [Buffer.from('c\n')]],
    ];
    for (const [name, before, after] of cases) {
      rmSync(join(dir, 'drvs'), { recursive: true, force: true });
      const sink = new BuildLogSink(dir, drv);
      assert.equal(existsSync(logFile(dir)), false, `${name}: nothing on disk before open`);
      for (const c of before) sink.write(c);
      sink.open();
      for (const c of after) sink.write(c);
      await sink.close();
      assert.equal(readFileSync(logFile(dir), 'latin1'), Buffer.concat([...before, ...after]).toString('latin1'), name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BuildLogSink: an empty compressed log becomes the .bz2 of nothing; an unopenable one throws at open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-log-test-'));
  try {
    const sink = new BuildLogSink(dir, drv);
    sink.compress = true;
    sink.open();
    await sink.close();
    await sink.compressed;
    assert.equal(existsSync(logFile(dir)), false);
    assert.equal(readFileSync(`${logFile(dir)}.bz2`).subarray(0, 3).toString('latin1'), 'BZh');
    const blocked = join(dir, 'file');
    writeFileSync(blocked, '');
    const bad = new BuildLogSink(blocked, drv);
    assert.throws(() => bad.open());
    bad.write(Buffer.from('dropped'));
    await bad.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

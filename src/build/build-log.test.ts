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

test('BuildLogSink: the log is open once constructed, in dirs it made, and again after they were removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-log-test-'));
  try {
    const cases: [string, Uint8Array[]][] = [['first', [Buffer.from('a\n'), Buffer.from('b')]], ['dirs removed meanwhile', [Buffer.from('c\n')]]];
    for (const [name, chunks] of cases) {
      rmSync(join(dir, 'drvs'), { recursive: true, force: true });
      const sink = new BuildLogSink(dir, drv);
      await sink.opened;
      for (const c of chunks) sink.write(c);
      await sink.close();
      assert.equal(readFileSync(logFile(dir), 'latin1'), Buffer.concat(chunks).toString('latin1'), name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BuildLogSink: an empty compressed log becomes the .bz2 of nothing; an unopenable one rejects `opened`', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-log-test-'));
  try {
    const sink = new BuildLogSink(dir, drv);
    sink.compress = true;
    await sink.close();
    await sink.compressed;
    assert.equal(existsSync(logFile(dir)), false);
    assert.equal(readFileSync(`${logFile(dir)}.bz2`).subarray(0, 3).toString('latin1'), 'BZh');
    const blocked = join(dir, 'file');
    writeFileSync(blocked, '');
    const bad = new BuildLogSink(blocked, drv);
    await assert.rejects(bad.opened);
    bad.write(Buffer.from('dropped'));
    await bad.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

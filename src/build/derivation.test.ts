import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreDir } from '../formats/index.js';
import { readDerivation } from './derivation.js';

const HASH = '0'.repeat(32);

function drvText(store: string, echo: string): string {
  return `Derive([("out","${store}/${'1'.repeat(32)}-t","","")],[],[],"x86_64-linux","/bin/sh",["-c","${echo}"],[("out","${store}/${'1'.repeat(32)}-t")])`;
}

test('readDerivation parses a file once while its bytes stay the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-drv-test-'));
  try {
    const sd = new StoreDir(dir);
    const p = sd.parse(`${dir}/${HASH}-t.drv`);
    const file = sd.print(p);
    writeFileSync(file, drvText(dir, 'a'));
    const first = readDerivation(sd, p);
    assert.deepEqual(first.args, ['-c', 'a']);
    assert.equal(readDerivation(sd, p), first, 'same bytes: the parsed derivation is reused');
    chmodSync(file, 0o644);
    writeFileSync(file, drvText(dir, 'b'));
    const second = readDerivation(sd, p);
    assert.notEqual(second, first);
    assert.deepEqual(second.args, ['-c', 'b'], 'changed bytes are parsed again');
    rmSync(file);
    assert.throws(() => readDerivation(sd, p), /opening derivation/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

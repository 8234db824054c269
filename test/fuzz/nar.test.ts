/** A short NAR fuzz run (on tmpfs when available: unlink on the disk is 30x slower) for CI (the full 100k run is `node dist/test/fuzz/nar-fuzz.js 100000`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, REF_BIN } from '../harness/index.js';
import { fuzz, mutate, seedArchives } from './nar-fuzz-lib.js';
import { rng } from '../differential/formats-trees.js';

test('mutations are deterministic and varied', () => {
  const seeds = seedArchives(1, 4);
  const a = mutate(seeds[0]!, rng(9));
  const b2 = mutate(seeds[0]!, rng(9));
  assert.deepEqual(a, b2);
  const distinct = new Set(Array.from({ length: 50 }, (_, i) => Buffer.from(mutate(seeds[i % 4]!, rng(i))).toString('hex')));
  assert.ok(distinct.size > 40);
});

test('1200 mutated archives: clean rejection or the reference tree', { skip: !haveReference() && 'no reference Nix' }, async () => {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tix-narfuzz-'));
  try {
    const s = await fuzz({ cases: 1200, seed: 42, dir, refBin: REF_BIN });
    assert.deepEqual(s.failures.slice(0, 5), []);
    assert.ok(s.accepted > 30 && s.rejected > 500, `accepted ${s.accepted}, rejected ${s.rejected}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

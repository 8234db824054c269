/**
 * Recorded reference outputs (scripts/gen-vectors-formats.sh): these run
 * without the reference Nix installed. NARs must parse and re-serialise to
 * the same bytes with the recorded hashes; every recorded .drv must re-print
 * byte-identically, recompute its path and outputs, and give the recorded
 * `nix show-derivation` JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../harness/index.js';
import {
  StoreDir, checkDerivationOutputs, computeDrvPath, derivationNameFromPath, encodeBase32, memTreeNode, narToMemTree,
  parseDerivation, printDerivation, serialiseNar, showDerivationJson, type Derivation,
} from '../../../src/formats/index.js';

const DIR = join(REPO_ROOT, 'test', 'vectors', 'formats');

interface NarVector { name: string; sha256: string; sha256Base32: string; md5: string }

test('recorded NARs: hashes, and parse → serialise is the identity', async () => {
  const index = JSON.parse(readFileSync(join(DIR, 'nar', 'index.json'), 'utf8')) as NarVector[];
  assert.ok(index.length >= 8);
  for (const v of index) {
    const nar = new Uint8Array(readFileSync(join(DIR, 'nar', `${v.name}.nar`)));
    const sha = createHash('sha256').update(nar).digest();
    assert.equal(sha.toString('hex'), v.sha256, v.name);
    assert.equal(encodeBase32(new Uint8Array(sha)), v.sha256Base32, v.name);
    assert.equal(createHash('md5').update(nar).digest('hex'), v.md5, v.name);
    assert.deepEqual(serialiseNar(memTreeNode(await narToMemTree([nar]))), nar, v.name);
  }
});

test('recorded .drv files re-print, recompute and show as the reference did', () => {
  const index = JSON.parse(readFileSync(join(DIR, 'drv', 'index.json'), 'utf8')) as { storeDir: string; topLevel: string[] };
  const sd = new StoreDir(index.storeDir);
  const files = readdirSync(join(DIR, 'drv')).filter((f) => f.endsWith('.drv'));
  const bytes = new Map(files.map((f) => [`${sd.dir}/${f}`, readFileSync(join(DIR, 'drv', f))]));
  const resolve = (p: string): Derivation => parseDerivation(bytes.get(p)!, derivationNameFromPath(p), { storeDir: sd });
  const memo = new Map();
  for (const [p, b] of bytes) {
    const drv = resolve(p);
    assert.ok(Buffer.from(printDerivation(drv), 'latin1').equals(b), p);
    assert.equal(sd.print(computeDrvPath(drv, sd)), p);
    checkDerivationOutputs(drv, p, { storeDir: sd, resolve, memo });
  }
  for (const p of index.topLevel) assert.ok(bytes.has(p), `top-level ${p} recorded`);
  const json = showDerivationJson(new Map([...bytes.keys()].map((p) => [p, resolve(p)])));
  assert.ok(Buffer.from(json, 'latin1').equals(readFileSync(join(DIR, 'drv', 'show.json'))));
});

/** The `require-sigs` rule for uploads (sig-check.ts): which path infos pass without a signature. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Settings } from '../../core/index.js';
import { StoreDir, hashBytes, type StorePath } from '../../formats/index.js';
import type { ValidPathInfo } from '../../store/store.js';
import { checkUploadSignatures } from './sig-check.js';

const sd = new StoreDir('/nix/store');
const h = hashBytes('sha256', new TextEncoder().encode('contents'));
const other = sd.makeTextPath('other', hashBytes('sha256', new TextEncoder().encode('o')), []);
const ca = `fixed:r:${h.toString('base32')}`;

function info(path: StorePath, references: StorePath[], c: string | undefined): ValidPathInfo {
  return { path, narHash: h, narSize: 8, references, registrationTime: 0, ultimate: false, sigs: [], ...(c === undefined ? {} : { ca: c }) };
}

test('checkUploadSignatures: content-addressed paths pass, others need a trusted signature', () => {
  const plain = sd.makeFixedOutputPath({ recursive: true, hash: h, name: 'p' });
  const withRef = sd.makeFixedOutputPath({ recursive: true, hash: h, name: 'p', references: [other] });
  const withSelf = sd.makeFixedOutputPath({ recursive: true, hash: h, name: 'p', hasSelfReference: true });
  const withBoth = sd.makeFixedOutputPath({ recursive: true, hash: h, name: 'p', references: [other], hasSelfReference: true });
  const cases: [string, ValidPathInfo, boolean][] = [
    ['no references', info(plain, [], ca), true],
    ['a reference', info(withRef, [other], ca), true],
    ['a self-reference', info(withSelf, [withSelf], ca), true],
    ['both', info(withBoth, [other, withBoth], ca), true],
    ['self-reference not declared', info(withSelf, [], ca), false],
    ['reference left out of the path', info(plain, [other], ca), false],
    ['no ca', info(plain, [], undefined), false],
    ['malformed ca', info(plain, [], 'fixed:r:sha256:zz'), false],
  ];
  for (const [what, i, ok] of cases) {
    if (ok) assert.doesNotThrow(() => checkUploadSignatures(sd, i, undefined), what);
    else assert.throws(() => checkUploadSignatures(sd, i, undefined), /lacks a valid signature/, what);
  }
  const off = new Settings();
  off.set('require-sigs', 'false');
  assert.doesNotThrow(() => checkUploadSignatures(sd, info(plain, [], undefined), off));
});

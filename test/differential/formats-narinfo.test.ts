/**
 * narinfo and signatures against the reference: `nix copy` to a file://
 * binary cache with a key made by `nix-store --generate-binary-cache-key`;
 * every .narinfo must parse and re-print identically, its Sig must verify
 * and be reproduced by tix's signer, its NarHash/NarSize must equal tix's
 * hashPath, and its CA must recompute the path.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef } from '../harness/index.js';
import {
  PublicKey, SecretKey, StoreDir, countValidSignatures, makeContentAddressedPath, narListing, parseNarInfo, parsePublicKeys, printNarInfo,
  printNarListing, signPathInfo,
} from '../../src/formats/index.js';
import { dumpPathSync, hashPath } from '../../src/store/index.js';

const skip = !haveReference() && 'reference Nix not installed';
const root = makeRoot();
after(() => root.cleanup());

test('narinfo files written by nix copy parse, re-print, verify and re-sign; .ls listings match', { skip }, async () => {
  const src = join(root.dir, 'src');
  mkdirSync(join(src, 'd'), { recursive: true });
  writeFileSync(join(src, 'd', 'f'), 'x'.repeat(5000));
  for (const n of ['10', '9', 'é', 'a b', 'q"\\']) writeFileSync(join(src, 'd', n), n);
  chmodSync(join(src, 'd', '9'), 0o755);
  symlinkSync('é', join(src, 'd', 'l'));
  writeFileSync(join(src, 'hello.txt'), 'hello\n');
  const sk = join(root.dir, 'sk');
  const pk = join(root.dir, 'pk');
  assert.equal(runRef(root, 'nix-store', ['--generate-binary-cache-key', 'test-key-9', sk, pk]).status, 0);
  const paths = [
    runRef(root, 'nix-store', ['--add', join(src, 'd')]).stdout.trim(),
    runRef(root, 'nix-store', ['--add-fixed', 'sha1', join(src, 'hello.txt')]).stdout.trim(),
    runRef(root, 'nix-instantiate', ['--eval', '--read-write-mode', '-E', `builtins.toFile "t.txt" "see \${builtins.toFile "u.txt" "u"}"`]).stdout.trim().replace(/"/g, ''),
  ];
  const sd = new StoreDir(root.storeDir);
  const pub = parsePublicKeys([readFileSync(pk, 'utf8')]);
  assert.equal(SecretKey.parse(readFileSync(sk, 'utf8')).toPublicKey().toString(), PublicKey.parse(readFileSync(pk, 'utf8')).toString());
  for (const comp of ['none', 'xz']) {
    const cache = join(root.dir, `cache-${comp}`);
    const r = runRef(root, 'nix', ['copy', '--to', `file://${cache}?compression=${comp}&secret-key=${sk}&write-nar-listing=1`, ...paths]);
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(cache).filter((f) => f.endsWith('.narinfo'));
    assert.ok(files.length >= 4, `narinfos: ${files.length}`);
    for (const f of files) {
      const text = readFileSync(join(cache, f), 'utf8');
      const info = parseNarInfo(text, sd, f);
      assert.equal(printNarInfo(info, sd), text, f);
      assert.equal(countValidSignatures(sd, info, info.sigs, pub), 1, `${f}: signature`);
      assert.equal(signPathInfo(sd, info, SecretKey.parse(readFileSync(sk, 'utf8'))), info.sigs[0]);
      const h = hashPath(sd.print(info.path));
      assert.ok(h.hash.equals(info.narHash), `${f}: narHash`);
      assert.equal(h.narSize, info.narSize);
      const ls = readFileSync(join(cache, f.replace('.narinfo', '.ls')));
      const listing = printNarListing(await narListing(dumpPathSync(sd.print(info.path), 1 << 16)));
      assert.ok(Buffer.from(listing, 'latin1').equals(ls), `${f}: .ls differs: ${listing} vs ${ls}`);
      if (info.ca) assert.equal(sd.print(makeContentAddressedPath(sd, info.path.name, info.ca, info.references)), sd.print(info.path), `${f}: CA`);
    }
  }
});

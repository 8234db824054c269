import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreDir, StorePath } from './store-path.js';
import { parseHash } from './hash.js';
import { parseNarInfo, printNarInfo } from './narinfo.js';
import { PublicKey, SecretKey, countValidSignatures, parsePublicKeys, pathFingerprint, signPathInfo, verifySignature } from './signature.js';
import { makeContentAddressedPath, parseContentAddress, renderContentAddress, parseContentAddressMethod, renderContentAddressMethod } from './content-address.js';

// spec formats.md §6.3 test key (guards nothing)
const SK = 'test-key-1:zbu57Q5Vq2kdlOQcn+6LpxofBWX1Lxno+QykV9dFani6l6wQc3TgZ2FP1moAjw+2jcfNWXtfrbKnIb0sfxOy7g==';
const PK = 'test-key-1:upesEHN04GdhT9ZqAI8Pto3HzVl7X62ypyG9LH8Tsu4=';
const NIX = new StoreDir('/nix/store');

const NARINFO_REF = `StorePath: /nix/store/3cmrvzmwi8kl03zzg5i25crdy3pjz95w-ref.txt
URL: nar/0400g7b10vr4s9sjr2900dv76vycxqpsaxwl2hgwhadrlxcf8vmn.nar
Compression: none
FileHash: sha256:0400g7b10vr4s9sjr2900dv76vycxqpsaxwl2hgwhadrlxcf8vmn
FileSize: 176
NarHash: sha256:0400g7b10vr4s9sjr2900dv76vycxqpsaxwl2hgwhadrlxcf8vmn
NarSize: 176
References: qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt
Sig: test-key-1:ODH3d/4omxbRkO246YpfVV7X+XOmWj6lQqxas/A79RLcRTHffKtacvH3SvQ7rnkrUC3iabNwUluOOZKQnvKjBg==
CA: text:sha256:18gh8j233979r0blaz24aikbwrjgj32sxpdzsydrk89lmg8q5107
`;

test('narinfo vector: parse → print is identical', () => {
  const info = parseNarInfo(NARINFO_REF, NIX, 'x');
  assert.equal(printNarInfo(info, NIX), NARINFO_REF);
  assert.equal(info.narSize, 176);
  assert.equal(info.references[0]!.name, 'hello.txt');
});

test('narinfo parsing: defaults, unknown keys, corruption', () => {
  const minimal = 'StorePath: /nix/store/3cmrvzmwi8kl03zzg5i25crdy3pjz95w-ref.txt\nURL: x\nNarHash: sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=\nNarSize: 5\nFoo: bar\nDeriver: unknown-deriver\n';
  const i = parseNarInfo(minimal, NIX, 'm');
  assert.equal(i.compression, 'bzip2');
  assert.equal(i.deriver, undefined);
  const corrupt = [
    minimal.replace('NarSize: 5', 'NarSize: 0'),
    minimal.replace('URL: x\n', ''),
    minimal + 'References: \nReferences: \n',
    minimal + 'CA: text:sha256:18gh8j233979r0blaz24aikbwrjgj32sxpdzsydrk89lmg8q5107\nCA: text:sha256:18gh8j233979r0blaz24aikbwrjgj32sxpdzsydrk89lmg8q5107\n',
    minimal.replace('NarSize: 5', 'NarSize: -5'),
    minimal + 'no colon line',
    minimal.replace('sha256-', 'sha256-!'),
  ];
  for (const c of corrupt) assert.throws(() => parseNarInfo(c, NIX, 'whence'), /NAR info file 'whence' is corrupt/, c);
});

test('signature vectors (spec §6.3)', () => {
  const sk = SecretKey.parse(SK);
  assert.equal(sk.toPublicKey().toString(), PK);
  const fps: [string, string][] = [
    ['1;/nix/store/3cmrvzmwi8kl03zzg5i25crdy3pjz95w-ref.txt;sha256:0400g7b10vr4s9sjr2900dv76vycxqpsaxwl2hgwhadrlxcf8vmn;176;/nix/store/qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt',
      'test-key-1:ODH3d/4omxbRkO246YpfVV7X+XOmWj6lQqxas/A79RLcRTHffKtacvH3SvQ7rnkrUC3iabNwUluOOZKQnvKjBg=='],
    ['1;/nix/store/qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt;sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw;120;',
      'test-key-1:Hb8TjSLrHfmSwnIW6cKhA6kjaQ1T0Cagk0OsFbA0QwL/jxsCdSKNguuEXAo/aBagABILKTFdZWK1+ci0c5DmBg=='],
  ];
  const keys = parsePublicKeys([PK]);
  for (const [fp, sig] of fps) {
    assert.equal(sk.signDetached(fp), sig);
    assert.ok(verifySignature(fp, sig, keys));
    assert.ok(!verifySignature(fp + 'x', sig, keys));
    assert.ok(!verifySignature(fp, sig.replace('test-key-1', 'other'), keys));
  }
  const info = {
    path: new StorePath('3cmrvzmwi8kl03zzg5i25crdy3pjz95w-ref.txt'),
    narHash: parseHash('sha256:0400g7b10vr4s9sjr2900dv76vycxqpsaxwl2hgwhadrlxcf8vmn'),
    narSize: 176,
    references: [new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt')],
  };
  assert.equal(pathFingerprint(NIX, info), fps[0]![0]);
  assert.equal(signPathInfo(NIX, info, sk), fps[0]![1]);
  assert.equal(countValidSignatures(NIX, info, [fps[0]![1], fps[1]![1], 'junk'], keys), 1);
  assert.throws(() => pathFingerprint(NIX, { ...info, narSize: 0 }), /size is not known/);
});

test('keys: corrupt input is refused; generated keys round-trip', () => {
  for (const bad of ['', 'name:', ':abc', 'test-key-1:AAAA']) assert.throws(() => SecretKey.parse(bad), (e: Error) => e.name === 'NixError', bad);
  assert.throws(() => PublicKey.parse('k:AAAA'), /not valid/);
  const sk = SecretKey.generate('gen');
  const sig = sk.signDetached('hello');
  assert.ok(verifySignature('hello', sig, parsePublicKeys([sk.toPublicKey().toString()])));
  assert.equal(SecretKey.parse(sk.toString()).signDetached('hello'), sig);
});

test('content addresses (spec §2.3) and their store paths', () => {
  const cases: [string, string][] = [
    ['fixed:md5:4425hx5d1mc9y39llj4k4nm55i', 'fixed:md5:4425hx5d1mc9y39llj4k4nm55i'],
    ['fixed:md5:b1946ac92492d2347c6235b4d2611184', 'fixed:md5:4425hx5d1mc9y39llj4k4nm55i'],
    ['fixed:r:sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03', 'fixed:r:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq'],
    ['text:sha256:1q7zms3nladzc81qkgyi5bf6y573a2djykd2mjpf13wblayjs8vn', 'text:sha256:1q7zms3nladzc81qkgyi5bf6y573a2djykd2mjpf13wblayjs8vn'],
  ];
  for (const [i, o] of cases) assert.equal(renderContentAddress(parseContentAddress(i)), o);
  // 2.8 wants `<algo>:<hash>` after the method: an SRI hash is refused.
  for (const bad of ['nope', 'blob:sha256:x', 'text:md5:3y8bwfr609h3lh9ch0izcqq7fl', 'fixed:sha256:zz', 'fixed:nonsense', 'fixed:r:sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=']) {
    assert.throws(() => parseContentAddress(bad), (e: Error) => e.name === 'NixError', bad);
  }
  // §2.4: --add-fixed md5 hello.txt → dra1cz5v…; nix-store --add hello.txt (source) → i9pmrzmp…
  const md5 = parseContentAddress('fixed:md5:4425hx5d1mc9y39llj4k4nm55i');
  assert.equal(NIX.print(makeContentAddressedPath(NIX, 'hello.txt', md5)), '/nix/store/dra1cz5vbrhclpv4y1q0psnbkxz581bk-hello.txt');
  const src = parseContentAddress('fixed:r:sha256:1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13');
  assert.equal(NIX.print(makeContentAddressedPath(NIX, 'hello.txt', src)), '/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt');
  const text = parseContentAddress('text:sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
  assert.equal(NIX.print(makeContentAddressedPath(NIX, 'hello.txt', text)), '/nix/store/qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt');
  for (const m of ['text:sha256', 'fixed:r:sha1', 'fixed:md5']) {
    const p = parseContentAddressMethod(m);
    assert.equal(renderContentAddressMethod(p.method, p.hashType), m);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashBytes, parseHash, compressHash, type HashType } from './hash.js';
import { decodeBase32, encodeBase32 } from './nixbase32.js';

// Vectors: shared/spec/formats.md §1.5 (made by nix-hash 2.8).
const VECTORS: [string, HashType, string, string][] = [
  ['', 'md5', 'd41d8cd98f00b204e9800998ecf8427e', '3y8bwfr609h3lh9ch0izcqq7fl'],
  ['', 'sha1', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', '143xibwh31h9bvxzalr0sjvbbvpa6ffs'],
  ['', 'sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', '0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73'],
  ['abc', 'md5', '900150983cd24fb0d6963f7d28e17f72', '3jgzhjhz9zjvbb0kyj7jc500ch'],
  ['abc', 'sha1', 'a9993e364706816aba3e25717850c26c9cd0d89d', 'kpcd173cq987hw957sx6m0868wv3x6d9'],
  ['abc', 'sha256', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', '1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s'],
  ['hello\n', 'sha512', 'e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629', '0lrc0dwnvipqviibf7qfm1y492qvjwb1zhkcyi05cndmva1mr5gjcgrnz1x36djmk0sfg8djd2n0qv68vib2jg590mwznar9jcjphp7'],
];

for (const [input, type, b16, b32] of VECTORS) {
  test(`hash ${type}(${JSON.stringify(input)}) prints and parses`, () => {
    const h = hashBytes(type, input);
    assert.equal(h.base16, b16);
    assert.equal(h.base32, b32);
    assert.ok(parseHash(`${type}:${b32}`).equals(h));
    assert.ok(parseHash(b16.toUpperCase(), type).equals(h));
    assert.ok(parseHash(h.sri).equals(h));
    assert.ok(parseHash(h.encode('base64'), type).equals(h));
    assert.deepEqual(decodeBase32(b32), h.digest);
  });
}

test('SRI vectors', () => {
  assert.equal(hashBytes('sha256', 'abc').sri, 'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
  assert.equal(hashBytes('md5', 'abc').sri, 'md5-kAFQmDzST7DWlj99KOF/cg==');
});

test('base32 rejects overflowing first digit and bad chars', () => {
  assert.throws(() => decodeBase32('2b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s', 32), /invalid base-32/);
  assert.throws(() => decodeBase32('eb8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s', 32), /invalid base-32/);
  assert.throws(() => parseHash('sha256:2b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s'), /invalid base-32/);
});

test('md5 first digit changes the top bits of the last byte', () => {
  assert.equal(Buffer.from(decodeBase32('4jgzhjhz9zjvbb0kyj7jc500ch', 16)).toString('hex'), '900150983cd24fb0d6963f7d28e17f92');
});

test('xor fold to 160 bits', () => {
  const folded = compressHash(hashBytes('sha256', 'abc').digest, 20);
  assert.equal(Buffer.from(folded).toString('hex'), '2c6f6c233b11308bb34155735dae2223b00361a3');
  assert.equal(encodeBase32(folded), 'ldhh7c134ap5swsm86rqnc0i7cinqvrc');
});

test('parse errors name the problem', () => {
  assert.throws(() => parseHash('abc'), /does not include a type/);
  assert.throws(() => parseHash('foo:abc'), /unknown hash algorithm 'foo'/);
  assert.throws(() => parseHash('sha256:abc'), /wrong length/);
  assert.throws(() => parseHash('sha1:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'sha256'), /should have type/);
});

/**
 * The remaining vectors of shared/spec/formats.md §1–§4 and §6 that other
 * test files do not already check (hash.test.ts, store-path.test.ts,
 * nar/*.test.ts, derivation/derivation.test.ts, narinfo-signature.test.ts).
 * Vectors that embed the spec author's temp dir `$T` cannot be recomputed
 * and are covered by the differential tests instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashBytes, parseHash, type HashType } from './hash.js';
import { StoreDir, hashPlaceholder, checkName } from './store-path.js';
import { computeDrvPath } from './derivation/output-paths.js';
import { parseDerivation } from './derivation/aterm-parse.js';

const NIX = new StoreDir('/nix/store');

const HASHES: [string, HashType, string, string][] = [
  ['abc', 'sha512', 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f', '2gs8k559z4rlahfx0y688s49m2vvszylcikrfinm30ly9rak69236nkam5ydvly1ai7xac99vxfc4ii84hawjbk876blyk1jfhkbbyx'],
  ['hello\n', 'md5', 'b1946ac92492d2347c6235b4d2611184', '4425hx5d1mc9y39llj4k4nm55i'],
  ['hello\n', 'sha1', 'f572d396fae9206628714fb2ce00f72e94f2258f', 'iwjz551fyw0cxcjgf4l6c879zabd6wpm'],
  ['hello\n', 'sha256', '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03', '00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq'],
];

for (const [input, type, b16, b32] of HASHES) {
  test(`§1.5 ${type}(${JSON.stringify(input)})`, () => {
    const h = hashBytes(type, input);
    assert.equal(h.base16, b16);
    assert.equal(h.base32, b32);
    assert.ok(parseHash(b32, type).equals(h));
  });
}

test('§1.5 SRI and base64 vectors', () => {
  const cases: [HashType, string, string][] = [
    ['sha256', 'abc', 'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='],
    ['sha1', 'abc', 'sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0='],
    ['sha512', 'abc', 'sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=='],
    ['sha256', 'hello\n', 'sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM='],
  ];
  for (const [t, input, sri] of cases) {
    assert.equal(hashBytes(t, input).sri, sri);
    assert.ok(parseHash(sri).equals(hashBytes(t, input)));
  }
  assert.equal(hashBytes('sha256', 'abc').toString('base64', false), 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
  assert.equal(parseHash('BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD', 'sha256').base32, '1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s');
  // base64 decoding stops at '=' and skips newlines
  assert.ok(parseHash('sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qc\ntBD/YfIAFa0=').equals(hashBytes('sha256', 'abc')));
});

test('§1.6 text fingerprint folds to the toFile path', () => {
  const fp = `text:sha256:${hashBytes('sha256', 'hello\n').base16}:/nix/store:hello.txt`;
  assert.equal(hashBytes('sha256', fp).base16, '1815be57cf8db6d39c690b6869d4caaebdc483c28f6e42d18e0e066276405238');
  assert.equal(NIX.makeTextPath('hello.txt', hashBytes('sha256', 'hello\n'), []).baseName, 'qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt');
});

test('§2.4 store path vectors (/nix/store)', () => {
  const hello = 'hello\n';
  const fixed = (recursive: boolean, h: string, t: HashType, name: string): string =>
    NIX.print(NIX.makeFixedOutputPath({ recursive, hash: parseHash(h, t), name }));
  assert.equal(fixed(false, hashBytes('sha256', 'abc').base32, 'sha256', 'abc'), '/nix/store/0y839a054fcnhjcd2w1pb6a4k4fl38iw-abc');
  assert.equal(fixed(true, hashBytes('sha256', 'abc').base32, 'sha256', 'abc'), '/nix/store/6w4qlk5yb14djbl1971fhnsxlvxrj22i-abc');
  assert.equal(fixed(true, '1s7hdn36hrp67s774mr1vblpcx9z67rzm800amjywrwi7h025cqf', 'sha256', 'tree'), '/nix/store/dab6n2k5qihksyk9slaxyww32cprw2wz-tree');
  assert.equal(fixed(true, '3vicji760wsl599i1ki8m0w4rf111jar', 'sha1', 'tree'), '/nix/store/8cbkz85lnlp7a7m9gb3hy5b06jhjq4pb-tree');
  assert.equal(fixed(false, hashBytes('sha512', hello).base16, 'sha512', 'hello.txt'), '/nix/store/9a8mxachqmcv8x2cfijdps9dyxgyyrzm-hello.txt');
  assert.equal(fixed(false, hashBytes('md5', hello).base16, 'md5', 'hello.txt'), '/nix/store/dra1cz5vbrhclpv4y1q0psnbkxz581bk-hello.txt');
  assert.equal(fixed(false, hashBytes('sha256', hello).base16, 'sha256', 'hello.txt'), '/nix/store/gy454w1cxaq731grqwylhzf4pp9r5izh-hello.txt');
  assert.equal(fixed(true, '1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13', 'sha256', 'hello.txt'), '/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt');
  const e = hashBytes('sha256', '').base16;
  assert.equal(fixed(false, e, 'sha256', '.x'), '/nix/store/0fl3kwiyf1z5s2qibs7z5h401p74wh7z-.x');
  assert.equal(fixed(false, e, 'sha256', '..'), '/nix/store/wffp2pzqm1v62sh04swsxdviks7kzq5j-..');
  const helloPath = NIX.parse('/nix/store/qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt');
  const refText = `see ${NIX.print(helloPath)}\n`;
  assert.equal(hashBytes('sha256', refText).base16, '078482d1ab34a1999bd7bfddaec5904f66be6654447c4517c8e9a4318444f0a1');
  assert.equal(NIX.print(NIX.makeTextPath('ref.txt', hashBytes('sha256', refText), [helloPath])), '/nix/store/3cmrvzmwi8kl03zzg5i25crdy3pjz95w-ref.txt');
  // fixed-output fingerprint inner digest
  assert.equal(hashBytes('sha256', `fixed:out:sha256:${hashBytes('sha256', 'abc').base16}:`).base16, '89212ba825c1af855e17e97365b61d06d03c2af2552bb8ee78c1b7873373e2e5');
  assert.equal(hashBytes('sha256', `fixed:out:sha256:${hashBytes('sha256', hello).base16}:`).base16, 'bc101cf2ad0f504c5dd74b9cce0a732e7157bfbddd2afec191aa0eecd3e252a9');
});

test('§2.1 name limits: 211 ok, 212 not; a 208-char drv name fails via its .drv path', () => {
  assert.doesNotThrow(() => checkName('p', 'n'.repeat(211)));
  assert.throws(() => checkName('p', 'n'.repeat(212)), /longer than 211/);
  const drv = (name: string): string => `Derive([("out","","","")],[],[],"x","/bin/sh",[],[("name","${name}")])`;
  assert.doesNotThrow(() => computeDrvPath(parseDerivation(drv('n'.repeat(207)), 'n'.repeat(207)), NIX));
  assert.throws(() => computeDrvPath(parseDerivation(drv('n'.repeat(208)), 'n'.repeat(208)), NIX), /longer than 211/);
});

test('§4.2 output placeholders', () => {
  assert.equal(hashPlaceholder('out'), '/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9');
  assert.equal(hashPlaceholder('dev'), '/02qcpld1y6xhs5gz9bchpxaw0xdhmsp5dv88lh25r2ss44kh8dxz');
});

test('§4.4 drv text fingerprint of withdep', () => {
  const fp = 'text:/nix/store/v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv:/nix/store/y19k6ahg57qh010idhn1y2kzf25mq75z-src.txt:sha256:71b93747af9621893ffd2f58ef426b4f8fd725be76c9a1d6d90217b5ea44b30c:/nix/store:withdep.drv';
  const refs = [NIX.parse('/nix/store/y19k6ahg57qh010idhn1y2kzf25mq75z-src.txt'), NIX.parse('/nix/store/v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv')];
  assert.equal(NIX.makeType('text', refs) + ':sha256:71b93747af9621893ffd2f58ef426b4f8fd725be76c9a1d6d90217b5ea44b30c:/nix/store:withdep.drv', fp);
  assert.equal(NIX.makeTextPath('withdep.drv', parseHash('sha256:71b93747af9621893ffd2f58ef426b4f8fd725be76c9a1d6d90217b5ea44b30c'), refs).baseName, 'ann8lv6qkwz3rqznv30z9pjz5bprfzqv-withdep.drv');
  const src = 'some "quoted"\ttext\n';
  assert.equal(hashBytes('sha256', src).base16, '593f83d541c9e9042e75b114199edf016cc9c443552aee1fff99977775ebee92');
  assert.equal(NIX.makeTextPath('src.txt', hashBytes('sha256', src), []).baseName, 'y19k6ahg57qh010idhn1y2kzf25mq75z-src.txt');
});

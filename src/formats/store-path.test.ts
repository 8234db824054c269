import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreDir, StorePath, hashPlaceholder } from './store-path.js';
import { hashBytes, parseHash } from './hash.js';

// Vectors: shared/spec/formats.md §2.4 and §4.2 (made by Nix 2.8).
const nix = new StoreDir('/nix/store');

test('flat fixed sha256 of "abc"', () => {
  const p = nix.makeFixedOutputPath({ recursive: false, hash: hashBytes('sha256', 'abc'), name: 'abc' });
  assert.equal(nix.print(p), '/nix/store/0y839a054fcnhjcd2w1pb6a4k4fl38iw-abc');
});

test('recursive sha256 uses the source type', () => {
  const p = nix.makeFixedOutputPath({ recursive: true, hash: hashBytes('sha256', 'abc'), name: 'abc' });
  assert.equal(nix.print(p), '/nix/store/6w4qlk5yb14djbl1971fhnsxlvxrj22i-abc');
});

test('text paths, with and without references', () => {
  const hello = nix.makeTextPath('hello.txt', hashBytes('sha256', 'hello\n'), []);
  assert.equal(nix.print(hello), '/nix/store/qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt');
  const ref = nix.makeTextPath('ref.txt', hashBytes('sha256', `see ${nix.print(hello)}\n`), [hello]);
  assert.equal(nix.print(ref), '/nix/store/3cmrvzmwi8kl03zzg5i25crdy3pjz95w-ref.txt');
});

test('recursive sha256 of the tree vector', () => {
  const h = parseHash('sha256:1s7hdn36hrp67s774mr1vblpcx9z67rzm800amjywrwi7h025cqf');
  assert.equal(nix.print(nix.makeFixedOutputPath({ recursive: true, hash: h, name: 'tree' })), '/nix/store/dab6n2k5qihksyk9slaxyww32cprw2wz-tree');
});

test('flat md5 and sha512 of hello.txt', () => {
  assert.equal(
    nix.print(nix.makeFixedOutputPath({ recursive: false, hash: hashBytes('md5', 'hello\n'), name: 'hello.txt' })),
    '/nix/store/dra1cz5vbrhclpv4y1q0psnbkxz581bk-hello.txt',
  );
  assert.equal(
    nix.print(nix.makeFixedOutputPath({ recursive: false, hash: hashBytes('sha512', 'hello\n'), name: 'hello.txt' })),
    '/nix/store/9a8mxachqmcv8x2cfijdps9dyxgyyrzm-hello.txt',
  );
});

test('dot names are allowed, as in 2.8', () => {
  const e = hashBytes('sha256', '');
  assert.equal(nix.print(nix.makeFixedOutputPath({ recursive: false, hash: e, name: '.x' })), '/nix/store/0fl3kwiyf1z5s2qibs7z5h401p74wh7z-.x');
  assert.equal(nix.print(nix.makeFixedOutputPath({ recursive: false, hash: e, name: '..' })), '/nix/store/wffp2pzqm1v62sh04swsxdviks7kzq5j-..');
});

test('name validation', () => {
  assert.throws(() => new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywp-'), /empty name/);
  assert.throws(() => new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywp-a b'), /illegal character ' '/);
  assert.throws(() => new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywp-' + 'x'.repeat(212)), /longer than 211/);
  assert.ok(new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywp-' + 'x'.repeat(211)));
  assert.throws(() => nix.parse('/tmp/qa1w9gdfrba6jl2r57mb3c43863gqywp-x'), /not in the Nix store/);
  assert.throws(() => new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywe-x'), /illegal base-32/);
  assert.throws(() => new StorePath('abc'), { message: "'abc' is too short to be a valid store path" });
  // 2.8 checks neither the separator nor anything but the name after it.
  const odd = new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywpXfoo');
  assert.deepEqual([odd.hashPart, odd.name, odd.baseName], ['qa1w9gdfrba6jl2r57mb3c43863gqywp', 'foo', 'qa1w9gdfrba6jl2r57mb3c43863gqywpXfoo']);
  assert.throws(() => new StorePath('qa1w9gdfrba6jl2r57mb3c43863gqywp-é'), /illegal character 'é'/);
});

test('output placeholders', () => {
  assert.equal(hashPlaceholder('out'), '/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9');
  assert.equal(hashPlaceholder('dev'), '/02qcpld1y6xhs5gz9bchpxaw0xdhmsp5dv88lh25r2ss44kh8dxz');
});

/** Command-line helpers shared by the evaluating commands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyEvalArgs, splitNixPath, takeEvalFlag } from './eval-args.js';
import { parseAttrPath } from './attr-path.js';

test('NIX_PATH splitting keeps URL colons', () => {
  const cases: Array<[string, string[]]> = [
    ['a:b', ['a', 'b']],
    ['nixpkgs=/x:/y', ['nixpkgs=/x', '/y']],
    ['n=https://example.org/a.tar.gz:/z', ['n=https://example.org/a.tar.gz', '/z']],
    ['::a::', ['a']],
  ];
  for (const [input, want] of cases) assert.deepEqual(splitNixPath(input), want, input);
});

test('attribute paths: dots, quotes, indices', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['a', ['a']],
    ['a.b.0', ['a', 'b', '0']],
    ['a."b.c".d', ['a', 'b.c', 'd']],
    ['a.', ['a', '']],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseAttrPath(input), want, input);
  assert.throws(() => parseAttrPath('a."b'), /missing closing quote/);
});

test('eval flags: --arg/--argstr/-I/--impure consume their arguments', () => {
  const ea = emptyEvalArgs();
  const args = ['--arg', 'x', '1 + 1', '--argstr', 'y', 'é', '-I', 'p=/q', '--impure', 'file.nix'];
  const used: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const n = takeEvalFlag(args, i, ea);
    if (n === 0) used.push(args[i]!);
    else i += n - 1;
  }
  assert.deepEqual(used, ['file.nix']);
  assert.deepEqual(ea.autoArgs, [{ name: 'x', kind: 'expr', value: '1 + 1' }, { name: 'y', kind: 'str', value: '\xc3\xa9' }]);
  assert.deepEqual(ea.includes, ['p=/q']);
  assert.equal(ea.impure, true);
  assert.throws(() => takeEvalFlag(['--arg', 'x'], 0, emptyEvalArgs()), { message: "flag '--arg' requires 2 argument(s)", usage: true });
});

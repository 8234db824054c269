/**
 * Parser vectors: the `--parse` text Nix 2.8 prints for each input (taken
 * from the reference), and its syntax-error messages and positions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from './parser.js';
import { printAst } from './parse-print.js';
import { tokenize } from './lexer.js';
import { EvalError } from './errors.js';

const src = (text: string) => ({ origin: 'string' as const, path: '', text });
const show = (text: string) => printAst(parse(src(text), { basePath: '/base', home: '/home/u' }));

const PRINT: Array<[string, string]> = [
  ['{ b = 1; a = 2; }', '{ a = 2; b = 1; }'],
  ['let b = 1; a = 2; zzz = 3; in a', '(let b = 1; a = 2; zzz = 3; in a)'],
  ['{ b, a, ... }@x: a', '({ b, a, ... } @ x: a)'],
  ['x: x.${"a"}.b', '(x: (x).a.b)'],
  ['[1 2.5 ./a/b /c <n> ~/f http://x.com]', '[ (1) (2.5) (/base/a/b) (/c) ((__findFile __nixPath "n")) (/home/u/f) ("http://x.com") ]'],
  ['1 + 2 * 3 - 4 / 5', '(__sub (1 + (__mul 2 3)) (__div 4 5))'],
  ['__curPos', '__curPos'],
  ['let { body = 1; }', '(rec { body = 1; }).body'],
  ['1.0', '1'],
  ['123456789.123', '1.23457e+08'],
  ['x: x.1', '(x: (x 0.1))'],
  ['x: { ${x} = 1; ${x} = 2; }', '(x: { "${x}" = 1; "${x}" = 2; })'],
  ['let ${"a"} = 1; in a', '(let a = 1; in a)'],
  ['let b = 1; name = 2; map = 3; in b', '(let name = 2; map = 3; b = 1; in b)'],
  ['(x: x - 1) 3 4', '((x: (__sub x 1)) 3 4)'],
  ['{ a = 1; inherit ({}) b; c.d = 1; ${"x"+"y"} = 2; "a b" = 3; }', '{ a = 1; "a b" = 3; b = ({ }).b; c = { d = 1; }; "${("x" + "y")}" = 2; }'],
  ['"\\$" + "${"x"}" + ""', '(("\\$" + ("x")) + "")'],
  ["''  a\\n  ${1} ''$ b''", '("a\\\\n  " + 1 + " " + "\\$" + " b")'],
  ['<a/b> 3', '(__findFile __nixPath "a/b" 3)'],
  ['let f = x: x; in (f 1) 2', '(let f = (x: x); in (f 1 2))'],
  ['!true == false', '((! true) == false)'],
  ['x: x.a.${x}.c or 3', '(x: (x).a."${x}".c or (3))'],
  ['assert true; 1 <= 2', 'assert true; (! (__lessThan 2 1))'],
  ['/a/../b/./c', '/b/c'],
  ['./x/${"y"}z', '(/base/x/ + "y" + "z")'],
  ['~/${"y"}', '(/home/u/ + "y")'],
  ['"$${x}"', '"\\$\\${x}"'],
  ["''\n  foo\n    bar\n  ''", '"foo\\n  bar\\n"'],
  ['builtins.toString 1', '((builtins).toString 1)'],
];

test('--parse printing matches Nix 2.8', () => {
  for (const [input, want] of PRINT) assert.equal(show(input), want, input);
});

const ERRORS: Array<[string, string, number, number]> = [
  ['1 % 2', "syntax error, unexpected invalid token, expecting end of file", 1, 3],
  ['(1 +', 'syntax error, unexpected end of file', 1, 4],
  ['{ a = 1 }', "syntax error, unexpected '}', expecting ';'", 1, 9],
  ['1 == 2 == 3', 'syntax error, unexpected EQ', 1, 8],
  ['"abc', `syntax error, unexpected end of file, expecting '"'`, 1, 2],
  ["''abc", 'syntax error, unexpected end of file, expecting IND_STR or DOLLAR_CURLY or IND_STRING_CLOSE', 1, 3],
  ['{ x ? 1 }', "syntax error, unexpected end of file, expecting ':' or '@'", 1, 9],
  ['x: x.', `syntax error, unexpected end of file, expecting ID or OR_KW or DOLLAR_CURLY or '"'`, 1, 5],
  ['a/b/ ', 'path has a trailing slash', 1, 5],
  ['9223372036854775808', "invalid integer '9223372036854775808'", 1, 1],
  ['let or = 1; in or', 'syntax error, unexpected OR_KW', 1, 16],
  ['{ a = 1; a = 2; }', "attribute 'a' already defined at (string):1:3", 1, 10],
  ['{ a, a }: a', "duplicate formal function argument 'a'", 1, 6],
  ['x: { inherit ${x}; }', 'dynamic attributes not allowed in inherit', 1, 14],
  ['x: x @ y', "syntax error, unexpected ID, expecting '{'", 1, 8],
  ['1.0e99999', "invalid float '1.0e99999'", 1, 1],
  ['./a//b', 'syntax error, unexpected PATH_END, expecting DOLLAR_CURLY', 1, 1],
];

test('syntax errors carry Nix 2.8 text and positions', () => {
  for (const [input, msg, line, column] of ERRORS) {
    try {
      parse(src(input), { basePath: '/base' });
      assert.fail(`no error for ${input}`);
    } catch (e) {
      assert.ok(e instanceof EvalError, input);
      assert.equal(e.message, msg, input);
      assert.equal(e.pos?.line, line, input);
      assert.equal(e.pos?.column, column, input);
    }
  }
});

test('lexer: keywords are exact and object members are plain identifiers', () => {
  assert.deepEqual(tokenize('toString constructor or if').map((t) => t.type), ['ID', 'ID', 'OR_KW', 'IF', 'EOF']);
  assert.deepEqual(tokenize('x:x a/b ~/c <d> 1.5 .5 1').map((t) => t.type), ['URI', 'PATH', 'PATH_END', 'HPATH', 'PATH_END', 'SPATH', 'FLOAT', 'FLOAT', 'INT', 'EOF']);
});

test('unsafeGetAttrPos positions: inherit reports the column after the keyword', () => {
  const e = parse(src('{ inherit a; }'), { basePath: '/' });
  assert.equal(e.kind, 'Attrs');
  if (e.kind === 'Attrs') assert.deepEqual([e.attrs[0]!.pos.line, e.attrs[0]!.pos.column], [1, 10]);
});

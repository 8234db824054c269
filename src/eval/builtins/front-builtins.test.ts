/** Vectors for eval-front's builtins (values from Nix 2.8). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regexMatch, regexSplit, translateERE } from './regex.js';
import { jsonString, parseJSON } from './json.js';
import { NixAttrs, NixFloat } from '../value.js';
import { EvalError } from '../errors.js';

test('regex: POSIX ERE semantics', () => {
  assert.deepEqual(regexMatch('a(b)c', 'abc'), ['b']);
  assert.equal(regexMatch('a', 'ba'), null);
  assert.deepEqual(regexMatch('[]a]+', ']a]'), []);
  assert.equal(regexMatch('[\\]]', ']'), null);
  assert.deepEqual(regexMatch('[\\]]', '\\]'), []);
  assert.deepEqual(regexMatch('a.c', 'a\nc'), []);
  assert.deepEqual(regexMatch('x+?', 'xx'), []);
  assert.deepEqual(regexMatch('a**', 'aa'), []);
  assert.deepEqual(regexMatch('(x)(y)?', 'x'), ['x', null]);
  assert.equal(regexMatch('.', '\xc3\xa9'), null);
  assert.deepEqual(regexSplit('a*', 'baaac'), ['', [], 'b', [], '', [], 'c', [], '']);
  assert.deepEqual(regexSplit('a|ab', 'xabc'), ['x', [], 'c']);
  assert.deepEqual(regexSplit('', 'ab'), ['', [], 'a', [], 'b', [], '']);
  for (const bad of ['\\d', 'a\\]', 'a{,2}', '(a', 'a)', '*a', '[]', '[z-a]', '[[:foo:]]', '{', 'a|*b']) {
    assert.throws(() => translateERE(bad), /./, bad);
  }
});

test('json: nlohmann number rules and escapes', () => {
  assert.equal(parseJSON('18446744073709551615'), -1);
  assert.ok(parseJSON('18446744073709551616') instanceof NixFloat);
  assert.equal(parseJSON('"a\\u0000b"'), 'a');
  assert.equal(parseJSON('"\\ud83d\\ude00"'), '\xf0\x9f\x98\x80');
  const o = parseJSON('{"a":1,"a":2}');
  assert.ok(o instanceof NixAttrs && o.get('a') === 2);
  assert.throws(() => parseJSON('[1,]'), (e: unknown) => e instanceof EvalError && /parse error at line 1, column 4/.test(e.message));
  assert.throws(() => parseJSON('1e400'), /number overflow parsing '1e400'/);
  assert.equal(jsonString('q" b\\ \n\t\x01/é'), '"q\\" b\\\\ \\n\\t\\u0001/é"');
});

test('json: objects of one shape, keys matched in place, duplicates and nesting', () => {
  const show = (v: unknown): unknown => v instanceof NixAttrs
    ? Object.fromEntries(v.names.map((n, i) => [n, show(v.valueAt(i))]))
    : Array.isArray(v) ? v.map(show) : v;
  const cases: Array<[string, unknown]> = [
    ['[{"a":1,"b":2},{"a":3,"b":4},{"a":5,"c":6},{"a":7,"b":8,"b":9},{"b":1,"a":2}]',
      [{ a: 1, b: 2 }, { a: 3, b: 4 }, { a: 5, c: 6 }, { a: 7, b: 9 }, { a: 2, b: 1 }]],
    // An escaped key equal to the expected one, and keys that only start like it.
    ['[{"ab":1},{"a\\u0062":2},{"a":3},{"a\\"":4},{"abc":5},{"ab":6,"ab":7}]',
      [{ ab: 1 }, { ab: 2 }, { a: 3 }, { 'a"': 4 }, { abc: 5 }, { ab: 7 }]],
    ['{"a":{"a":1,"b":{"a":2}},"b":[{"a":3,"b":4}],"c":{}}',
      { a: { a: 1, b: { a: 2 } }, b: [{ a: 3, b: 4 }], c: {} }],
  ];
  for (const [text, want] of cases) assert.deepEqual(show(parseJSON(text)), want, text);
  // Objects of one shape share their names.
  const xs = parseJSON('[{"p":1,"q":2},{"p":3,"q":4}]') as NixAttrs[];
  assert.equal(xs[0]!.names, xs[1]!.names);
  // An error inside a nested object leaves the next parse unaffected.
  assert.throws(() => parseJSON('[{"a":{"b":1,}}]'), /parse error/);
  assert.deepEqual(show(parseJSON('{"z":{"y":1}}')), { z: { y: 1 } });
});

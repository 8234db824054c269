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

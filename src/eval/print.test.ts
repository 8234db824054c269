/** Float and value printing vectors, taken from Nix 2.8.0 `nix-instantiate --eval --strict`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloat, printValue } from './print.js';
import { floatToStringF } from './coerce.js';
import { NixAttrs, NixFloat, NixPath, NixString, Thunk } from './value.js';

const FLOATS: Array<[number, string]> = [
  [0.0, '0'], [1.0, '1'], [0.1, '0.1'], [0.5, '0.5'], [1.5, '1.5'], [2.25, '2.25'],
  [3.14159265, '3.14159'], [100000.0, '100000'], [999999.0, '999999'], [999999.5, '1e+06'],
  [1000000.0, '1e+06'], [1234567.0, '1.23457e+06'], [0.0001, '0.0001'], [0.00001, '1e-05'],
  [0.000123456, '0.000123456'], [1.0e-10, '1e-10'], [1.0e100, '1e+100'],
  [1.7976931348623157e308, '1.79769e+308'], [123456789.123, '1.23457e+08'],
  [0.3333333333, '0.333333'], [2.5e-5, '2.5e-05'], [99999.95, '99999.9'], [999999.4, '999999'],
  [12345.6789, '12345.7'], [0.1 + 0.2, '0.3'], [1 / 3, '0.333333'], [2 / 3, '0.666667'],
  [-1.5, '-1.5'], [-0.0001, '-0.0001'], [0.000099999, '9.9999e-05'], [9.9999949, '9.99999'],
];

for (const [x, s] of FLOATS) {
  test(`formatFloat ${x}`, () => assert.equal(formatFloat(x), s));
}

const TO_STRING: Array<[number, string]> = [
  [0, '0.000000'], [1, '1.000000'], [0.1, '0.100000'], [1.5, '1.500000'], [1e6, '1000000.000000'],
  [1e-10, '0.000000'], [1e20, '100000000000000000000.000000'], [-2.5, '-2.500000'],
  [123456789.123, '123456789.123000'],
];

for (const [x, s] of TO_STRING) {
  test(`toString float ${x}`, () => assert.equal(floatToStringF(x), s));
}

test('printValue: sets sorted bytewise, names quoted as 2.8 does', () => {
  const a = NixAttrs.fromEntries([
    ['b', 1], ['a b', 2], ['if', 3], ['rec', 4], ['1a', 5], ['_x', 6], ["a'", 7], ['', 8],
  ]);
  assert.equal(printValue(a), `{ "" = 8; "1a" = 5; _x = 6; "a b" = 2; a' = 7; b = 1; "if" = 3; rec = 4; }`);
});

test('printValue: strings escape quote, backslash, controls and ${ only', () => {
  assert.equal(printValue('a"b\\c\n\r\t${x}$y'), '"a\\"b\\\\c\\n\\r\\t\\${x}$y"');
  assert.equal(printValue(new NixString('ctx', new Set(['/nix/store/x']))), '"ctx"');
});

test('printValue: scalars, paths, floats, unevaluated thunks', () => {
  assert.equal(printValue([1, -(2n ** 63n), true, false, null, new NixFloat(1.0), new NixPath('/a/b')]),
    '[ 1 -9223372036854775808 true false null 1 /a/b ]');
  assert.equal(printValue([new Thunk(() => 1, [])]), '[ <CODE> ]');
});

test('printValue: a repeated non-empty container prints «repeated», empty ones never do', () => {
  const inner = NixAttrs.fromEntries([['z', 1]]);
  const list = [1, 2, 3];
  const empty: number[] = [];
  const rep = Buffer.from('«repeated»', 'utf8').toString('latin1');
  assert.equal(printValue([inner, inner, list, list, empty, empty]),
    `[ { z = 1; } ${rep} [ 1 2 3 ] ${rep} [ ] [ ] ]`);
});

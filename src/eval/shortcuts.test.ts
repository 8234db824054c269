/**
 * Shortcuts give what Nix 2.8.0 gives (expected outputs from
 * `nix-instantiate --eval [--strict]`): `builtins.x` and base primop calls
 * fixed at compile time, the regex cache, lambda predicates of
 * filter/any/all entered directly, and list elements that stay
 * thunks (no eager evaluation of cheap element expressions: non-strict
 * printing, `--json` and `trace` would show the difference).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvalState } from './state.js';
import { MemoryIO } from './io.js';
import { forceValueDeep, printValue } from './print.js';
import { EvalError } from './errors.js';

function run(expr: string, strict: boolean): string {
  const st = new EvalState({ io: new MemoryIO(new Map(), { env: {} }) });
  try {
    const v = st.evalString(expr, '/tmp');
    if (strict) forceValueDeep(v);
    return printValue(v);
  } catch (e) {
    if (e instanceof EvalError) return `error: ${e.message}`;
    throw e;
  }
}

// [name, expression, strict, 2.8 output]
const CASES: Array<[string, string, boolean, string]> = [
  ['identity', 'builtins.genList (x: x) 5', true, '[ 0 1 2 3 4 ]'],
  ['arith', 'builtins.genList (x: x * 2 - 3) 5', true, '[ -3 -1 1 3 5 ]'],
  ['free int', 'let a = 10; in builtins.genList (x: a + x) 3', true, '[ 10 11 12 ]'],
  ['free forced', 'let a = 5 + 5; in builtins.seq a (builtins.genList (x: a * x) 3)', true, '[ 0 10 20 ]'],
  ['free throws', 'let a = throw "no"; in builtins.genList (x: a + x) 3', true, 'error: no'],
  ['free throws, lazy', 'let a = throw "no"; in builtins.length (builtins.genList (x: a + x) 3)', true, '3'],
  ['i64 wrap', 'builtins.genList (x: x * 4611686018427387904) 3', true, '[ 0 4611686018427387904 -9223372036854775808 ]'],
  ['past 2^53', 'builtins.genList (x: 9007199254740991 + x) 3', true, '[ 9007199254740991 9007199254740992 9007199254740993 ]'],
  ['no -0', 'builtins.genList (x: 0 - x * 0) 2', true, '[ 0 0 ]'],
  ['shadowed __sub', 'let __sub = a: b: 42; in builtins.genList (x: x - 1) 2', true, '[ 42 42 ]'],
  ['map non-int', 'builtins.map (x: x * 3) [ 1 2.5 ]', true, '[ 3 7.5 ]'],
  ['elements stay thunks', 'builtins.genList (x: x) 3', false, '[ <CODE> <CODE> <CODE> ]'],
  ['one forced', 'let l = builtins.genList (x: x) 3; in builtins.seq (builtins.elemAt l 1) l', false, '[ <CODE> 1 <CODE> ]'],
  ['builtins.x', 'builtins.head [ 1 2 ]', true, '1'],
  ['builtins.x missing', 'builtins.nope', true, "error: attribute 'nope' missing"],
  ['builtins shadowed', 'let builtins = { x = 1; }; in builtins.x', true, '1'],
  ['with cannot shadow', 'with { builtins = 3; }; builtins.length [ 1 ]', true, '1'],
  ['builtins.x lazy', '[ builtins.head ]', false, '[ <CODE> ]'],
  ['base primop shadowed', 'let toString = x: "no"; in toString 1', true, '"no"'],
  ['partial primop', 'map toString [ 1 2 ]', true, '[ "1" "2" ]'],
  ['regex cache', '[ (builtins.match "a(b)" "ab") (builtins.match "a(c)" "ac") (builtins.match "a(b)" "ab") ]', true,
    '[ [ "b" ] [ "c" ] [ "b" ] ]'],
  ['regex error', 'builtins.match "(" "x"', true, "error: invalid regular expression '('"],
  ['filter lambda', 'builtins.filter (x: x > 1) [ 1 2 3 ]', true, '[ 2 3 ]'],
  ['filter primop', 'builtins.filter builtins.isInt [ 1 "a" 2 ]', true, '[ 1 2 ]'],
  ['filter non-bool', 'builtins.filter (x: 1) [ 1 ]', true, 'error: value is an integer while a Boolean was expected'],
  ['filter lazy elements', 'builtins.length (builtins.filter (x: true) [ (throw "no") ])', true, '1'],
  ['any', 'builtins.any (x: x == 2) [ 1 2 (throw "no") ]', true, 'true'],
  ['any non-bool', 'builtins.any (x: "a") [ 1 ]', true, 'error: value is a string while a Boolean was expected'],
  ['all', 'builtins.all (x: x < 3) [ 1 2 ]', true, 'true'],
  ['all stops', 'builtins.all (x: x) [ false (throw "no") ]', true, 'false'],
  ['all non-bool', 'builtins.all (x: x) [ true 1 ]', true, 'error: value is an integer while a Boolean was expected'],
  ["foldl' lambda", "builtins.foldl' (a: b: a ++ [ b ]) [ ] [ 1 2 ]", true, '[ 1 2 ]'],
  ["foldl' formals", "builtins.foldl' (a: { y }: y) 0 [ { y = 3; } ]", true, '3'],
  ["foldl' one arg", "builtins.foldl' (a: a) 0 [ 1 ]", true, 'error: attempt to call something which is not a function but an integer'],
  ['match subject first forced after pattern', 'builtins.match "(" (throw "x")', true, "error: invalid regular expression '('"],
  ['match subject path', 'builtins.match "a" ./x', true, 'error: value is a path while a string was expected'],
];

for (const [name, expr, strict, expected] of CASES) {
  test(`shortcuts: ${name}`, () => assert.equal(run(expr, strict), expected));
}

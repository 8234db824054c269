/**
 * builtins.fromJSON's errors and `--eval --json` of a thunk, tix against the
 * reference Nix 2.8: the same stderr (nlohmann's line, column and "last read"
 * text, the frame 2.8 puts at the call) and the same exit status. The inputs
 * are read from files, so any byte can be in them.
 */
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRoot, haveReference } from '../harness/index.js';
import { sameOnRoot } from '../harness/compare.js';

const BAD_JSON: string[] = [
  // literals: read up to the first wrong character; the end of input counts in the column
  'nul', 'nux', 'tr', 'fals', 'x', '  x', '[nul]', '[tru', '[true, x]', '  \n  nul', 'nullx',
  // "last read" runs from the start of the last number or string
  '[1, x]', '{"a":1, x}', '[1 x]', '[1,\n  nuk]',
  // strings
  '"abc', '"a\\x"', '"a\\', '"\\u12"', '"\\u12', '"\\u00', '"\\uD800"', '"\\uD800\\u0041"', '"\\uDC00"', '"\\uD800\\u', '"\\uD800x',
  '"a\x0e"', '"a\x1f"', '"a\n"', '"a\tb"', '"a\x08"', '"a\x0d"',
  // numbers
  '-', '-x', '1.', '1.x', '1e', '1e+', '1ex', '[1.5e]', '01', '[-]', '0.e1', '1E-',
  // valid tokens in the wrong place
  '[1,]', '{"a" 1}', ']', '', '{"a":}',
];

test('fromJSON errors and a thunk in --eval --json print what 2.8 prints', { skip: !haveReference() }, () => {
  const root = makeRoot();
  try {
    BAD_JSON.forEach((json, i) => {
      const file = join(root.dir, `bad${i}.json`);
      writeFileSync(file, json, 'latin1');
      sameOnRoot(root, 'nix-instantiate', ['--eval', '-E', `builtins.fromJSON (builtins.readFile ${file})`], {}, `fromJSON ${JSON.stringify(json)}`);
    });
    sameOnRoot(root, 'nix-instantiate', ['--eval', '--show-trace', '-E', 'builtins.fromJSON "[nul]"']);
    sameOnRoot(root, 'nix-instantiate', ['--eval', '--json', '-E', '[ (1 + 1) ]']);
    sameOnRoot(root, 'nix-instantiate', ['--eval', '--json', '--show-trace', '-E', '[ (1 + 1) ]']);
  } finally {
    root.cleanup();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorLines, filterLogText } from './errors.js';

test('errorLines lays a message out as 2.8 prints it', () => {
  const cases: Array<[string, string]> = [
    ['one line', 'error: one line'],
    ['a\nb', 'error: a\n       b'],
    ['a  \nb', 'error: a\n       b'],
    ['x\n\n\ny\n\n', 'error: x\n\n\n       y'],
    ['\n\ta\t', 'error:\n       \ta'],
    ['a\n  b', 'error: a\n         b'],
  ];
  for (const [msg, want] of cases) assert.equal(errorLines(msg), want, JSON.stringify(msg));
});

test('filterLogText expands tabs on a column counted over the whole message, drops CR, BEL and escapes', () => {
  const cases: Array<[string, string, boolean]> = [
    ['no change', 'no change', false],
    ['trace: a\tb\rc', 'trace: a        bc', false],
    ['error:\n       \ta', 'error:\n         a', false],
    ['xy\tb\n1234567890\tc', 'xy      b\n1234567890    c', false],
    ['\x1b[31;1mred\x1b[0m\tx', 'red     x', false],
    ['\u00e9\tb', '\u00e9       b', false],
    // The same text as UTF-8 bytes, one per char: the continuation byte takes no column.
    ['\u00c3\u00a9\tb', '\u00c3\u00a9       b', true],
  ];
  for (const [s, want, bytes] of cases) assert.equal(filterLogText(s, bytes), want, JSON.stringify(s));
});

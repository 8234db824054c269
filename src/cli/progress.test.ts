import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterAnsiEscapes } from './progress.js';

const CASES: Array<[string, string, boolean, string]> = [
  ['plain', 'hello', true, 'hello'],
  ['SGR dropped off a TTY', '\x1b[31;1merror:\x1b[0m x', true, 'error: x'],
  ['SGR kept on a TTY', '\x1b[31;1merror:\x1b[0m x', false, '\x1b[31;1merror:\x1b[0m x'],
  ['other CSI dropped on a TTY', 'a\x1b[2Kb', false, 'ab'],
  ['two-byte escape dropped', 'a\x1bMb', false, 'ab'],
  ['tab to a multiple of 8', 'ab\tc', true, 'ab      c'],
  ['tab after a wide char counts characters', 'é\tx', true, 'é       x'],
  ['carriage return and bell dropped', 'a\rb\x07c', true, 'abc'],
];

for (const [name, input, filterAll, want] of CASES) {
  test(`filterAnsiEscapes: ${name}`, () => assert.equal(filterAnsiEscapes(input, filterAll), want));
}

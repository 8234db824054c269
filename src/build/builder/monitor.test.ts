import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from './monitor.js';

test('log lines split as Nix does (\\r restarts the line)', () => {
  const cases: Array<[string[], string[]]> = [
    [['a\nb\n'], ['a', 'b']],
    [['abc\rX\n'], ['Xbc']],
    [['par', 'tial\nend'], ['partial', 'end']],
    [['\n\n'], ['', '']],
    [['x\r\n'], ['x']],
  ];
  for (const [chunks, want] of cases) {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    for (const c of chunks) s.push(Buffer.from(c));
    s.end();
    assert.deepEqual(got, want, JSON.stringify(chunks));
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Field, Logger, VerbosityLevel } from '../../core/index.js';
import { BuilderJsonLog } from './json-log.js';

/** Records every logger call as a line. */
function recorder(): { logger: Logger; calls: string[] } {
  const calls: string[] = [];
  let next = 100;
  const logger: Logger = {
    log: (level: VerbosityLevel, msg: string) => void calls.push(`log ${level} ${msg}`),
    startActivity: (type: number, text: string, fields: Field[] = [], parent = 0) => {
      const id = next++;
      calls.push(`start ${id} ${type} ${text} ${JSON.stringify(fields)} parent=${parent}`);
      return id;
    },
    stopActivity: (id: number) => void calls.push(`stop ${id}`),
    result: (id: number, type: number, fields: Field[]) => void calls.push(`result ${id} ${type} ${JSON.stringify(fields)}`),
  };
  return { logger, calls };
}

const CASES: Array<{ name: string; lines: string[]; handled: boolean[]; calls: string[] }> = [
  { name: 'plain line', lines: ['hello'], handled: [false], calls: [] },
  {
    name: 'file transfer activity',
    lines: ['@nix {"action":"start","id":7,"type":101,"text":"downloading","level":4,"fields":["u"]}', '@nix {"action":"result","id":7,"type":105,"fields":[1,2,0,0]}', '@nix {"action":"stop","id":7}'],
    handled: [true, true, true],
    calls: ['start 100 101 downloading ["u"] parent=1', 'result 100 105 [1,2,0,0]', 'stop 100'],
  },
  { name: 'untrusted activity types are dropped', lines: ['@nix {"action":"start","id":7,"type":105,"text":"x","level":3}', '@nix {"action":"stop","id":7}'], handled: [true, true], calls: [] },
  { name: 'setPhase', lines: ['@nix {"action":"setPhase","phase":"buildPhase"}'], handled: [true], calls: ['result 1 104 ["buildPhase"]'] },
  { name: 'msg', lines: ['@nix {"action":"msg","level":0,"msg":"hi"}'], handled: [true], calls: ['log 0 hi'] },
  { name: 'bad JSON is reported and kept as a line', lines: ['@nix {oops'], handled: [false], calls: ['log 0 error: bad JSON log message from builder: '] },
  { name: 'unknown action is swallowed', lines: ['@nix {"action":"frobnicate"}'], handled: [true], calls: [] },
];

for (const c of CASES) {
  test(`builder JSON log: ${c.name}`, () => {
    const { logger, calls } = recorder();
    const j = new BuilderJsonLog(logger, 1);
    assert.deepEqual(c.lines.map((l) => j.handle(l)), c.handled);
    assert.deepEqual(calls.map((l) => (l.startsWith('log 0 error: bad JSON') ? 'log 0 error: bad JSON log message from builder: ' : l)), c.calls);
  });
}

test('builder JSON log: close stops what the builder left open', () => {
  const { logger, calls } = recorder();
  const j = new BuilderJsonLog(logger, 1);
  j.handle('@nix {"action":"start","id":3,"type":101,"text":"t","level":4}');
  j.close();
  assert.deepEqual(calls.slice(1), ['stop 100']);
});

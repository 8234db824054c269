/** Beyond 2.8 (issue 8 §6.8): every recursive call is recorded per build. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_LOG_PREFIX, readCallLog, recursiveLogFile } from './call-log.js';
import { collectText, makeFixture } from './test-support.js';

test('calls are recorded with op, path and result, in the file and the build log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-calllog-'));
  try {
    const lines: string[] = [];
    const f = makeFixture({ logDir: dir, buildLog: (l) => lines.push(l) });
    const s = f.session.store;
    await s.queryPathInfo(f.input);
    await s.queryPathInfo(f.unreachable);
    await assert.rejects(() => collectText(s.narFromPath(f.unreachable)));
    const added = await s.addTextToStore('foobar', new Uint8Array([1]), []);
    const file = recursiveLogFile(dir, f.outerDrv.baseName);
    const calls = readCallLog(file)!;
    const sd = f.host.storeDir;
    assert.deepEqual(calls.map((c) => [c.op, c.path, c.result]), [
      ['queryPathInfo', sd.print(f.input), 'ok'],
      ['queryPathInfo', sd.print(f.unreachable), 'ok'],
      ['narFromPath', sd.print(f.unreachable), 'denied'],
      ['addTextToStore', 'foobar', 'ok'],
    ]);
    assert.equal(calls[1]!.detail, 'not valid');
    assert.equal(calls[3]!.detail, sd.print(added));
    // Queries stay out of the build log; denials and adds go in.
    assert.deepEqual(lines.map((l) => l.slice(BUILD_LOG_PREFIX.length).split(' ')[0]), ['narFromPath', 'addTextToStore']);
    assert.ok(lines.every((l) => l.startsWith(BUILD_LOG_PREFIX)));
    // A torn last line (killed build) is skipped.
    appendFileSync(file, '{"op":"trunc');
    assert.equal(readCallLog(file)!.length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no record file means undefined', () => {
  assert.equal(readCallLog('/nonexistent/x.jsonl'), undefined);
});

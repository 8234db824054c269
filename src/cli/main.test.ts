import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const mainUrl = new URL('./main.js', import.meta.url).href;

function runScript(body: string): { status: number | null; stderr: string } {
  const script = `import { exitWhenUnfinished } from ${JSON.stringify(mainUrl)};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
  return { status: r.status, stderr: r.stderr };
}

test('a command that never finishes exits 1 with an internal error, not 0', () => {
  const r = runScript('process.exitCode = await exitWhenUnfinished(new Promise(() => {}));');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /internal error: the command stopped before it finished/);
});

test('a finished command keeps its own status and prints nothing', () => {
  const r = runScript('process.exitCode = await exitWhenUnfinished(Promise.resolve(3));');
  assert.equal(r.status, 3);
  assert.equal(r.stderr, '');
});

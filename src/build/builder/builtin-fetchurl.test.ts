import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBuiltin } from './builtin-fetchurl.js';

const dir = mkdtempSync(join(tmpdir(), 'tix-fetchurl-'));
chmodSync(dir, 0o755);

async function run(env: Record<string, string>, worldReadableOnly = false): Promise<{ code: number | null; log: string }> {
  const p = startBuiltin({ builder: 'builtin:fetchurl', args: [], env, cwd: dir }, { attempts: 1, worldReadableOnly });
  const chunks: Buffer[] = [];
  p.output.on('data', (c: Buffer) => chunks.push(c));
  const s = await p.exited;
  return { code: s.code, log: Buffer.concat(chunks).toString() };
}

test('builtin:fetchurl: file URL, executable bit, activity lines', async () => {
  writeFileSync(join(dir, 'src'), 'data\n', { mode: 0o644 });
  const out = join(dir, 'out1');
  const r = await run({ out, url: `file://${dir}/src`, executable: '1' });
  assert.equal(r.code, 0);
  assert.equal(readFileSync(out, 'utf8'), 'data\n');
  assert.equal(statSync(out).mode & 0o111, 0o111);
  assert.match(r.log, /^@nix \{"action":"start".*"type":101\}\n@nix \{"action":"stop","id":\d+\}\n$/);
});

test('builtin:fetchurl: failures print 2.8 error lines and exit 1', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ out: join(dir, 'o2'), url: `file://${dir}/missing` }, /error:\x1b\[0m unable to download 'file:\/\/.*\/missing': Couldn't read a file:\/\/ file \(37\)\n$/],
    [{ out: join(dir, 'o3'), url: 'gopher://x/y' }, /Unsupported protocol \(1\)/],
    [{ url: 'file:///x' }, /attribute 'out' missing/],
  ];
  for (const [env, re] of cases) {
    const r = await run(env);
    assert.equal(r.code, 1);
    assert.match(r.log, re);
  }
});

test('builtin:fetchurl: confined builds read only world-readable files', async () => {
  writeFileSync(join(dir, 'secret'), 'x\n', { mode: 0o600 });
  assert.equal((await run({ out: join(dir, 'o4'), url: `file://${dir}/secret` }, true)).code, 1);
  assert.equal((await run({ out: join(dir, 'o5'), url: `file://${dir}/secret` }, false)).code, 0);
});

test('builtin:fetchurl: cleanup', () => rmSync(dir, { recursive: true, force: true }));

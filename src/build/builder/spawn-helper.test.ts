import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuilderProcess } from '../hooks.js';
import { prestartSpawnHelper, spawnViaHelper } from './spawn-helper.js';

process.env.TIX_SPAWN_HELPER = 'always';
const dir = mkdtempSync(join(tmpdir(), 'tix-spawn-helper-'));
writeFileSync(join(dir, 'plain-file'), 'not a program\n', { mode: 0o644 });

async function collect(p: BuilderProcess): Promise<{ out: string; status: { code: number | null; signal: NodeJS.Signals | null } }> {
  const chunks: Buffer[] = [];
  p.output.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => p.output.on('end', r));
  const status = await p.exited;
  p.kill();
  await ended;
  return { out: Buffer.concat(chunks).toString('utf8'), status };
}

const run = (args: string[], env: Record<string, string> = {}, builder = '/bin/bash'): BuilderProcess =>
  spawnViaHelper({ builder, args, env, cwd: dir })!;

const CASES: Array<{ name: string; builder?: string; args: string[]; env?: Record<string, string>; out: string; code: number | null; signal?: NodeJS.Signals }> = [
  { name: 'stdout and stderr on one stream, in order', args: ['-c', 'echo a; echo b >&2; echo c'], out: 'a\nb\nc\n', code: 0 },
  { name: 'exit code', args: ['-c', 'exit 3'], out: '', code: 3 },
  { name: 'signal', args: ['-c', 'kill -9 $$'], out: '', code: null, signal: 'SIGKILL' },
  { name: 'only the given environment, sorted', builder: '/usr/bin/env', args: [], env: { ZED: '1', ALPHA: 'x y', MID: 'é' }, out: 'ALPHA=x y\nMID=é\nZED=1\n', code: 0 },
  { name: 'cwd, umask, stdin', args: ['-c', 'pwd; umask; /bin/cat; echo done'], out: `${dir}\n0022\ndone\n`, code: 0 },
  { name: 'arguments with odd bytes', args: ['-c', 'printf "%s|" "$@"', 'x', 'a b', '', 'c\nd', '1:2,'], out: 'a b||c\nd|1:2,|', code: 0 },
  { name: 'missing builder', builder: '/nonexistent/b', args: [], out: "executing '/nonexistent/b': No such file or directory\n", code: 1 },
  { name: 'not executable', builder: join(dir, 'plain-file'), args: [], out: `executing '${join(dir, 'plain-file')}': Permission denied\n`, code: 1 },
  { name: 'large output', args: ['-c', 'head -c 300000 /dev/zero | tr "\\0" x'], out: 'x'.repeat(300000), code: 0 },
];

for (const c of CASES) {
  test(`spawn helper: ${c.name}`, async () => {
    const r = await collect(run(c.args, c.env ?? {}, c.builder));
    assert.equal(r.out, c.out);
    assert.equal(r.status.code, c.code);
    assert.equal(r.status.signal, c.signal ?? null);
  });
}

test('spawn helper: concurrent builders keep their output apart', async () => {
  prestartSpawnHelper();
  const rs = await Promise.all([1, 2, 3, 4].map((i) => collect(run(['-c', `for k in 1 2 3; do echo ${i}$k; done`]))));
  assert.deepEqual(rs.map((r) => r.out), [1, 2, 3, 4].map((i) => `${i}1\n${i}2\n${i}3\n`));
});

test('spawn helper: kill ends the whole process group; exit is reported while a child holds the pipe', async () => {
  const p = run(['-c', '/bin/sleep 30 & echo started']);
  const status = await p.exited;
  assert.equal(status.code, 0);
  p.kill();
  await new Promise((r) => p.output.on('end', r).resume());
  const q = run(['-c', 'echo x; /bin/sleep 30']);
  q.output.resume();
  setTimeout(() => q.kill(), 100);
  assert.deepEqual(await q.exited, { code: null, signal: 'SIGKILL' });
});

test('spawn helper: cleanup', () => rmSync(dir, { recursive: true, force: true }));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeSpawn, nativeSpawnAvailable, type NativeSpawnOptions } from './posix-spawn.js';

async function run(o: Partial<NativeSpawnOptions> & { argv: string[] }): Promise<{ out: string; code: number | null; signal: string | null; pid: number }> {
  const c = nativeSpawn({ file: o.argv[0]!, env: [], cwd: '/', output: 'pipe', ...o });
  assert.ok(c !== undefined);
  if (!c.ok) throw new Error(`spawn failed: ${c.message}`);
  let out = '';
  c.output!.setEncoding('utf8');
  c.output!.on('data', (d: string) => (out += d));
  const ended = new Promise((r) => c.output!.on('close', r));
  const st = await c.exited;
  await ended;
  return { out, ...st, pid: c.pid };
}

const available = nativeSpawnAvailable();

test('child sees exactly the env, cwd, /dev/null stdin, one pipe for stdout+stderr, own session', { skip: !available }, async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tix-pspawn-')));
  try {
    const script = 'echo "A=$A"; env | sort | tr "\\n" " "; echo; pwd; echo err >&2; read x; echo "read=$?"; ps -o sid= -p $$ | tr -d " "; echo pid=$$';
    const r = await run({ argv: ['/bin/bash', '-c', script], env: ['A=1', 'PATH=/usr/bin:/bin'], cwd: dir });
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'A=1');
    assert.match(lines[1]!, /^A=1 PATH=\/usr\/bin:\/bin (PWD=\S+ )?(SHLVL=1 )?_=\S+ $/);
    assert.equal(lines[2], dir);
    assert.equal(lines[3], 'err');
    assert.equal(lines[4], 'read=1'); // EOF at once: /dev/null
    assert.equal(lines[5], String(r.pid)); // session leader
    assert.equal(lines[6], `pid=${r.pid}`);
    assert.deepEqual([r.code, r.signal], [0, null]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signals: none ignored or blocked in the child (Node ignores SIGPIPE)', { skip: !available }, async () => {
  const r = await run({ argv: ['/bin/bash', '-c', 'trap -p; grep -E "^Sig(Blk|Ign)" /proc/self/status'], env: ['PATH=/usr/bin:/bin'] });
  assert.equal(r.out, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
});

test('exit codes and signals are reported as waitpid gives them', { skip: !available }, async () => {
  const cases: [string, number | null, string | null][] = [
    ['exit 0', 0, null],
    ['exit 3', 3, null],
    ['kill -TERM $$', null, 'SIGTERM'],
    ['kill -KILL $$', null, 'SIGKILL'],
  ];
  for (const [script, code, signal] of cases) {
    const r = await run({ argv: ['/bin/sh', '-c', script] });
    assert.deepEqual([r.code, r.signal], [code, signal], script);
  }
});

test('exit is reported while a background child still holds the output pipe', { skip: !available }, async () => {
  const c = nativeSpawn({ file: '/bin/sh', argv: ['/bin/sh', '-c', 'sleep 5 & exit 7'], env: [], cwd: '/', output: 'pipe' });
  assert.ok(c?.ok);
  c.output!.resume();
  const st = await c.exited;
  assert.deepEqual(st, { code: 7, signal: null });
  process.kill(-c.pid, 'SIGKILL'); // the session's process group: the sleep
});

test('a child that closes its output and runs on is still waited for', { skip: !available }, async () => {
  const c = nativeSpawn({ file: '/bin/sh', argv: ['/bin/sh', '-c', 'exec >/dev/null 2>&1; sleep 0.3; exit 4'], env: [], cwd: '/', output: 'pipe' });
  assert.ok(c?.ok);
  c.output!.resume();
  assert.deepEqual(await c.exited, { code: 4, signal: null });
});

test('exec failures come back as errno and message', { skip: !available }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-pspawn-'));
  try {
    writeFileSync(join(dir, 'plain'), 'x\n', { mode: 0o644 });
    writeFileSync(join(dir, 'noformat'), 'no shebang\n', { mode: 0o755 });
    const cases: [string, string][] = [
      [join(dir, 'missing'), 'No such file or directory'],
      [dir, 'Permission denied'],
      [join(dir, 'plain'), 'Permission denied'],
      [join(dir, 'noformat'), 'Exec format error'],
    ];
    for (const [file, message] of cases) {
      const c = nativeSpawn({ file, argv: [file], env: [], cwd: '/', output: 'pipe' });
      assert.ok(c !== undefined && !c.ok, file);
      assert.equal(c.message, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('many children at once, each status to its own caller', { skip: !available }, async () => {
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => run({ argv: ['/bin/sh', '-c', `echo ${i}; exit ${i}`] })));
  rs.forEach((r, i) => assert.deepEqual([r.out, r.code], [`${i}\n`, i]));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync, realpathSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativePipe, nativeSocketPair, nativeSpawn, nativeSpawnAvailable, spawnWithFds, type NativeSpawnOptions } from './posix-spawn.js';

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

test('spawnWithFds: pipes and a socket at the fds asked for, nothing else inherited', { skip: !available }, async () => {
  const out = nativePipe()!;
  const sock = nativeSocketPair()!;
  // A plain command, not the last (bash would exec it), no pipeline (bash would hold its pipe): ls sees bash's fds.
  const script = 'read -r line <&3; echo "got $line" >&3; echo out; ls /proc/$$/fd; exit 0';
  const r = spawnWithFds({ file: '/bin/bash', argv: ['/bin/bash', '-c', script], env: [], cwd: '/', fds: [null, out[1], out[1], sock[1]] });
  closeSync(out[1]);
  closeSync(sock[1]);
  assert.ok(r?.ok);
  const ctl = new Socket({ fd: sock[0], readable: true, writable: true });
  const output = new Socket({ fd: out[0], readable: true, writable: false });
  let text = '';
  let reply = '';
  output.setEncoding('utf8').on('data', (d: string) => (text += d));
  ctl.setEncoding('utf8').on('data', (d: string) => (reply += d));
  ctl.write('ping\n');
  const closed = new Promise((res) => output.on('close', res));
  assert.deepEqual(await r.exited, { code: 0, signal: null });
  await closed;
  ctl.destroy();
  assert.equal(reply, 'got ping\n');
  const [first, ...fdList] = text.trim().split('\n');
  assert.equal(first, 'out');
  // 0-3 as asked; bash itself may hold 255. No fd of this process was inherited.
  const fds = fdList.map(Number).filter((fd) => fd !== 255).sort((x, y) => x - y);
  assert.deepEqual(fds, [0, 1, 2, 3]);
});

test('an unref\'d child does not keep the event loop alive; a ref\'d one does', { skip: !available }, async () => {
  const script = `
    const { spawnWithFds, setChildRef } = await import(${JSON.stringify(new URL('./posix-spawn.js', import.meta.url).href)});
    const r = spawnWithFds({ file: '/bin/sleep', argv: ['/bin/sleep', process.argv[1]], env: [], cwd: '/', fds: [null, null, null] });
    if (process.argv[2] === 'unref') setChildRef(r.pid, false);
    r.exited.then(() => console.log('exited'));`;
  // Ref'd: the process stays until the child's exit is reported.
  const a = spawnSync(process.execPath, ['--input-type=module', '-e', script, '0.3', 'ref'], { encoding: 'utf8' });
  assert.equal(a.stdout, 'exited\n');
  // Unref'd: it ends without waiting for a child that would run for a minute.
  const b = spawnSync(process.execPath, ['--input-type=module', '-e', script, '60', 'unref'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(b.status, 0);
  assert.equal(b.stdout, '');
});

test('spawnNative: a builder gets umask 022 and one log stream whatever tix\'s umask', { skip: !available }, async () => {
  const { spawnNative } = await import('./direct.js');
  const old = process.umask(0o077);
  try {
    for (const mask of [0o077, 0o022]) {
      process.umask(mask);
      const p = spawnNative({ builder: '/bin/sh', args: ['-c', 'umask; echo err >&2'], env: {}, cwd: '/' })!;
      let out = '';
      p.output.on('data', (d: Buffer) => (out += d.toString()));
      const ended = new Promise((r) => p.output.on('end', r));
      assert.deepEqual(await p.exited, { code: 0, signal: null });
      await ended;
      assert.equal(out, '0022\nerr\n', `tix umask ${mask.toString(8)}`);
    }
  } finally {
    process.umask(old);
  }
});

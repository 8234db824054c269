/**
 * reuse.ts (which jobs a warm child may follow with another, and what a job
 * must not leave behind) and job-stdio.ts (the per-job stdio streams).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureState, leftovers, reusableCommand, staleFd } from './reuse.js';
import { FdWriter, LazyStdin } from './job-stdio.js';

const WHITELIST: Array<[string, string, string[], boolean]> = [
  ['eval', 'nix-instantiate', ['--eval', '-E', '1'], true],
  ['instantiate', 'nix-instantiate', ['-E', 'x'], true],
  ['nix-build', 'nix-build', ['-E', 'x'], true],
  ['nix-hash', 'nix-hash', ['--type', 'sha256', 'f'], true],
  ['store query', 'nix-store', ['-q', '--references', '/x'], true],
  ['store query combined', 'nix-store', ['-qR', '/x'], true],
  ['store --query', 'nix-store', ['--query', '--hash', '/x'], true],
  ['store add', 'nix-store', ['--add', 'f'], true],
  ['store restore', 'nix-store', ['--restore', 'out'], false],
  ['store import', 'nix-store', ['--import'], false],
  ['store gc', 'nix-store', ['--gc'], false],
  ['store serve', 'nix-store', ['--serve'], false],
  ['store realise', 'nix-store', ['-r', '/x'], true],
  ['store --realise', 'nix-store', ['--realise', '/x'], true],
  ['store dump', 'nix-store', ['--dump', '/x'], false],
  ['nix eval', 'nix', ['eval', '--expr', '1'], true],
  ['nix eval after global flags', 'nix', ['--store', 'unix:///s', '--option', 'a', 'b', 'eval', '--expr', '1'], true],
  ['nix path-info', 'nix', ['path-info', '/x'], true],
  ['nix build', 'nix', ['build', '-f', 'x'], true],
  ['nix store add-path', 'nix', ['store', 'add-path', 'f'], true],
  ['nix store gc', 'nix', ['store', 'gc'], false],
  ['nix store delete', 'nix', ['store', 'delete', '/x'], false],
  ['nix daemon', 'nix', ['daemon'], false],
  ['nix log', 'nix', ['log', '/x'], false],
  ['a store path that names a command', 'nix', ['--store', 'eval', 'daemon'], false],
  ['nix-daemon', 'nix-daemon', [], false],
  ['help', 'nix-instantiate', ['--help'], false],
  ['version', 'nix', ['eval', '--version'], false],
  ['tix prefix', 'tix', ['nix-instantiate', '--eval', '-E', '1'], true],
  ['tix daemon', 'tix', ['daemon'], false],
  ['tix log', 'tix', ['log', '/x'], false],
  ['unknown program', 'nix-copy-closure', [], false],
];

for (const [name, prog, args, want] of WHITELIST) {
  test(`whitelist: ${name}`, () => assert.equal(reusableCommand(prog, args), want));
}

test('leftovers: a clean job leaves none', () => {
  const before = captureState();
  const fd = openSync('/dev/null', 'r');
  closeSync(fd);
  assert.equal(leftovers(before), undefined);
});

test('leftovers: an fd left open, a timer, a listener, process.exitCode', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-reuse-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string, () => () => void, RegExp]> = [
    ['fd', () => {
      const fd = openSync(join(dir, 'db'), 'w');
      return () => closeSync(fd);
    }, /^fd \d+ left open \(.*\/db\)$/],
    ['timer', () => {
      const h = setTimeout(() => undefined, 60_000);
      return () => clearTimeout(h);
    }, /^active Timeout$/],
    ['listener', () => {
      const f = (): void => undefined;
      process.on('SIGUSR2', f);
      return () => process.off('SIGUSR2', f);
    }, /'SIGUSR2' listener/],
    ['exit listener', () => {
      const f = (): void => undefined;
      process.on('exit', f);
      return () => process.off('exit', f);
    }, /'exit' listener/],
    ['exitCode', () => {
      process.exitCode = 3;
      return () => (process.exitCode = undefined);
    }, /^process\.exitCode 3$/],
    ['exitCode 0', () => {
      process.exitCode = 0;
      return () => (process.exitCode = undefined);
    }, /^process\.exitCode set$/],
  ];
  for (const [name, leave, why] of cases) {
    const before = captureState();
    const undo = leave();
    assert.match(leftovers(before) ?? '(none)', why, name);
    undo();
    assert.equal(leftovers(before), undefined, `${name} undone`);
  }
});

test('a store\'s gc.lock fd may stay; one whose file was deleted stops reuse', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-reuse-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const warm = captureState();
  const fd = openSync(join(dir, 'gc.lock'), 'a');
  t.after(() => closeSync(fd));
  assert.equal(leftovers(warm), undefined);
  assert.equal(staleFd(warm), undefined);
  unlinkSync(join(dir, 'gc.lock'));
  assert.match(staleFd(warm) ?? '', /deleted file .*gc\.lock/);
  // Present before the first job (the warm-up's throwaway store): not a job's, never used again.
  assert.equal(staleFd(captureState()), undefined);
});

test('FdWriter writes synchronously and in order, interleaved with direct writes to the fd', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-reuse-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fd = openSync(join(dir, 'out'), 'w');
  const w = new FdWriter(fd);
  assert.equal(w.isTTY, false);
  w.write('a\n');
  w.write(Buffer.from('b\n'));
  // Visible at once, as with Node's stdout on a file or pipe.
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'a\nb\n');
  w.write('x'.repeat(100_000) + '\n');
  w.write('é\n');
  closeSync(fd);
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), `a\nb\n${'x'.repeat(100_000)}\né\n`);
  assert.equal(w.writableLength, 0);
});

test('FdWriter reports a failed write as a stream error', async () => {
  const w = new FdWriter(999_999);
  const err = await new Promise<Error>((resolve) => {
    w.on('error', resolve);
    w.write('x');
  });
  assert.match(err.message, /EBADF/);
  assert.ok(w.errored);
});

test('LazyStdin opens fd 0 only when read', () => {
  const s = new LazyStdin();
  assert.equal(s.used, false);
  s.on('error', () => undefined);
  s.pause();
  assert.equal(s.used, false, 'listening for errors or pausing is no read');
});

test('the builder spawner\'s first SIGCHLD listener and its /proc/self/status fd may stay', (t) => {
  const had = process.listenerCount('SIGCHLD');
  t.after(() => process.removeAllListeners('SIGCHLD'));
  if (had > 0) return t.skip('this process already listens for SIGCHLD');
  const before = captureState();
  const fd = openSync('/proc/self/status', 'r');
  t.after(() => closeSync(fd));
  process.on('SIGCHLD', () => undefined);
  assert.equal(leftovers(before), undefined);
  process.on('SIGCHLD', () => undefined);
  assert.match(leftovers(before) ?? '', /'SIGCHLD' listener/);
});

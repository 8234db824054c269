import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings, NixError } from '../../core/index.js';
import { parseSandboxPath, sandboxPaths, sandboxMode, decideSandbox, sandboxFallback } from './settings.js';
import { passwdText, groupText } from './chroot-files.js';
import { unavailableMessage } from './availability.js';
import { acquireBuildUser } from './build-user.js';

const settings = (kv: Record<string, string>): Settings => {
  const s = new Settings();
  for (const [k, v] of Object.entries(kv)) s.set(k, v);
  return s;
};

test('parseSandboxPath', () => {
  const cases: [string, { target: string; source: string; optional: boolean }][] = [
    ['/bin/sh', { target: '/bin/sh', source: '/bin/sh', optional: false }],
    ['/bin/sh=/bin/bash', { target: '/bin/sh', source: '/bin/bash', optional: false }],
    ['/dev/kvm?', { target: '/dev/kvm', source: '/dev/kvm', optional: true }],
    ['/x=/y?', { target: '/x', source: '/y', optional: true }],
    ['//usr/./lib/', { target: '/usr/lib', source: '//usr/./lib/', optional: false }],
  ];
  for (const [word, want] of cases) assert.deepEqual(parseSandboxPath(word), want, word);
  assert.throws(() => parseSandboxPath('relative'), NixError);
});

test('sandbox-paths default is /bin/sh; extra-sandbox-paths appends; later target wins', () => {
  assert.deepEqual(sandboxPaths(new Settings()).map((p) => p.target), ['/bin/sh']);
  const s = settings({ 'sandbox-paths': '/bin/sh=/bin/dash /usr', 'extra-sandbox-paths': '/bin/sh=/bin/bash /opt?' });
  assert.deepEqual(
    sandboxPaths(s).map((p) => `${p.target}=${p.source}${p.optional ? '?' : ''}`),
    ['/bin/sh=/bin/bash', '/usr=/usr', '/opt=/opt?'],
  );
  assert.deepEqual(sandboxPaths(settings({ 'sandbox-paths': '' })), []);
});

test('sandbox mode and __noChroot', () => {
  const table: [string, boolean, boolean, boolean | 'error'][] = [
    // mode, noChroot, fixedOutput → sandboxed
    ['true', false, false, true],
    ['true', false, true, true],
    ['true', true, false, 'error'],
    ['false', false, false, false],
    ['false', true, false, false],
    ['relaxed', false, false, true],
    ['relaxed', true, false, false],
    ['relaxed', false, true, false],
  ];
  for (const [mode, noChroot, fod, want] of table) {
    const s = settings({ sandbox: mode });
    const what = `${mode} noChroot=${noChroot} fod=${fod}`;
    if (want === 'error') {
      assert.throws(() => decideSandbox(s, '/nix/store/x.drv', noChroot, fod), /has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'/, what);
    } else {
      assert.equal(decideSandbox(s, '/nix/store/x.drv', noChroot, fod).useSandbox, want, what);
    }
  }
  assert.equal(sandboxMode(new Settings()), 'true');
  assert.throws(() => sandboxMode(settings({ sandbox: 'maybe' })), /invalid value 'maybe'/);
  assert.equal(sandboxFallback(new Settings()), true);
  assert.equal(sandboxFallback(settings({ 'sandbox-fallback': 'false' })), false);
});

test('chroot /etc files are the ones Nix writes', () => {
  assert.equal(passwdText('/build'), 'root:x:0:0:Nix build user:/build:/noshell\nnixbld:x:1000:100:Nix build user:/build:/noshell\nnobody:x:65534:65534:Nobody:/:/noshell\n');
  assert.equal(groupText(), 'root:x:0:\nnixbld:!:100:\nnogroup:x:65534:\n');
});

test('the unavailable message says what sandbox-fallback does', () => {
  assert.match(unavailableMessage('no userns', true), /no userns.*building without the sandbox because 'sandbox-fallback' is true/);
  assert.match(unavailableMessage('no userns', false), /no userns.*'sandbox-fallback' is false/);
});

test('build users: members are locked one per build, released, and errors are clear', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-bu-'));
  try {
    const groupFile = join(dir, 'group');
    const passwdFile = join(dir, 'passwd');
    writeFileSync(groupFile, 'nixbld:x:30000:nixbld1,nixbld2\nempty:x:30001:\n');
    writeFileSync(passwdFile, 'nixbld1:x:30001:30000::/:/bin/false\nnixbld2:x:30002:30000::/:/bin/false\n');
    const opts = { group: 'nixbld', stateDir: dir, groupFile, passwdFile, timeoutMs: 0 };
    const a = await acquireBuildUser(opts);
    const b = await acquireBuildUser(opts);
    assert.deepEqual([a.uid, b.uid, a.gid], [30001, 30002, 30000]);
    await assert.rejects(acquireBuildUser(opts), /all build users in group 'nixbld' are currently in use/);
    a.release();
    assert.equal((await acquireBuildUser(opts)).uid, 30001);
    // a lock whose owner died is taken over
    writeFileSync(join(dir, 'userpool', '30002'), '999999999');
    b.release();
    writeFileSync(join(dir, 'userpool', '30002'), '999999999');
    assert.equal((await acquireBuildUser(opts)).uid, 30002);
    assert.deepEqual(readdirSync(join(dir, 'userpool')).sort(), ['30001', '30002']);
    await assert.rejects(acquireBuildUser({ ...opts, group: 'nope' }), /the group 'nope' specified in 'build-users-group' does not exist/);
    await assert.rejects(acquireBuildUser({ ...opts, group: 'empty' }), /has no members/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

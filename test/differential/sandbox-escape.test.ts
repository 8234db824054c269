/**
 * Escape attempts against the build sandbox (issue 7 acceptance): each
 * scenario in sandbox-scenarios.ts must hold as root (in-process) and as an
 * unprivileged user (a throwaway account, the scenarios run as a program).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { finished } from 'node:stream/promises';
import { mkdtempSync, mkdirSync, chownSync, rmSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxAvailability } from '../../src/build/sandbox/index.js';
import { SCENARIOS, runScenario, makeFixture, runBuilder, type Outcome } from './sandbox-scenarios.js';

const avail = sandboxAvailability();
const skip = avail.ok ? false : `sandbox unavailable: ${avail.reason}`;
const isRoot = process.getuid?.() === 0;

for (const name of Object.keys(SCENARIOS)) {
  test(`${isRoot ? 'root' : 'non-root'}: ${name}`, { skip }, async () => {
    const r = await runScenario(name);
    assert.ok(r.ok, r.detail);
  });
}

test('root, plain store view (no overlayfs): every scenario holds', { skip: skip || (!isRoot && 'not root') }, async (t) => {
  const program = join(fileURLToPath(new URL('.', import.meta.url)), 'sandbox-scenarios.js');
  const r = spawnSync(process.execPath, [program], { env: { ...process.env, TIX_SANDBOX_OVERLAY: '0' }, timeout: 120_000 });
  const outcomes = r.stdout.toString().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Outcome);
  assert.equal(outcomes.length, Object.keys(SCENARIOS).length, `scenario program: ${r.stderr}`);
  for (const o of outcomes) await t.test(o.name, () => assert.ok(o.ok, o.detail));
});

test('root, perl + bubblewrap (TIX_SANDBOX_NATIVE=0, the fallback without the native helper): every scenario holds', { skip: skip || (!isRoot && 'not root') }, async (t) => {
  const program = join(fileURLToPath(new URL('.', import.meta.url)), 'sandbox-scenarios.js');
  const r = spawnSync(process.execPath, [program], { env: { ...process.env, TIX_SANDBOX_NATIVE: '0' }, timeout: 120_000 });
  const outcomes = r.stdout.toString().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Outcome);
  assert.equal(outcomes.length, Object.keys(SCENARIOS).length, `scenario program: ${r.stderr}`);
  for (const o of outcomes) await t.test(o.name, () => assert.ok(o.ok, o.detail));
});

/** useradd/groupadd and friends, retried: other test files may hold /etc/passwd's lock. */
function admin(cmd: string, args: string[]): boolean {
  for (let i = 0; i < 10; i++) {
    if (spawnSync(cmd, args).status === 0) return true;
    spawnSync('sleep', ['0.3']);
  }
  return false;
}

const USER = 'tixsbtest';

function userIds(): { uid: number; gid: number } | undefined {
  const u = spawnSync('id', ['-u', USER]);
  const g = spawnSync('id', ['-g', USER]);
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.toString()), gid: Number(g.stdout.toString()) };
}

test('non-root (throwaway user): every scenario holds', { skip: skip || (!isRoot && 'not root: covered above') }, async (t) => {
  let ids = userIds();
  let created = false;
  if (!ids) {
    if (!admin('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', USER])) return t.skip('cannot create a test user');
    created = true;
    ids = userIds()!;
  }
  const base = mkdtempSync(join(tmpdir(), 'tix-sb-nonroot-'));
  chownSync(base, ids.uid, ids.gid);
  try {
    const program = join(fileURLToPath(new URL('.', import.meta.url)), 'sandbox-scenarios.js');
    const r = spawnSync('setpriv', ['--reuid', String(ids.uid), '--regid', String(ids.gid), '--clear-groups', '--', process.execPath, program, base], {
      env: { PATH: process.env.PATH, HOME: base },
      timeout: 120_000,
    });
    const outcomes = r.stdout.toString().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Outcome);
    assert.equal(outcomes.length, Object.keys(SCENARIOS).length, `scenario program: ${r.stderr}`);
    for (const o of outcomes) {
      await t.test(o.name, () => assert.ok(o.ok, o.detail));
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
    if (created) admin('userdel', [USER]);
  }
});

test('root with build-users-group: the builder runs as a locked build user, outputs come back owned by root', { skip: skip || (!isRoot && 'not root') }, async (t) => {
  const group = 'tixsbbld';
  const member = 'tixsbbld1';
  const made: string[] = [];
  if (spawnSync('getent', ['group', group]).status !== 0) {
    if (!admin('groupadd', ['-r', group])) return t.skip('cannot create a group');
    made.push('group');
  }
  if (spawnSync('id', ['-u', member]).status !== 0) {
    if (!admin('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', '-g', group, '-G', group, member])) return t.skip('cannot create a user');
    made.push('user');
  }
  spawnSync('gpasswd', ['-a', member, group]);
  const uid = Number(spawnSync('id', ['-u', member]).stdout.toString());
  const fx = makeFixture();
  const state = mkdtempSync(join(tmpdir(), 'tix-sb-state-'));
  const savedState = process.env.NIX_STATE_DIR;
  process.env.NIX_STATE_DIR = state; // the user pool lock lives here, never in the machine's /nix
  try {
    fx.settings.set('build-users-group', group);
    let hostOwner = -1;
    let lockHeld = false;
    const r = await runBuilder(fx, `id -u; mkdir $out; echo hi > $out/f; touch /build/ready; while [ ! -e /build/go ]; do sleep 0.01; done`, {
      during: async (sb) => {
        const end = Date.now() + 20_000;
        while (!existsSync(join(fx.build, 'ready')) && Date.now() < end) await new Promise((res) => setTimeout(res, 5));
        hostOwner = statSync(join(sb.outputLocation!(fx.out), 'f')).uid;
        lockHeld = existsSync(join(state, 'userpool', String(uid)));
        writeFileSync(join(fx.build, 'go'), '');
      },
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^1000$/m);
    assert.equal(hostOwner, uid, 'files the builder writes belong to the build user on the host');
    assert.ok(lockHeld, 'the build user is locked while the build runs');
    assert.ok(!existsSync(join(state, 'userpool', String(uid))), 'and released after');
    assert.equal(statSync(join(fx.out, 'f')).uid, 0, 'outputs are handed back to root');
  } finally {
    if (savedState === undefined) delete process.env.NIX_STATE_DIR;
    else process.env.NIX_STATE_DIR = savedState;
    await fx.cleanup();
    rmSync(state, { recursive: true, force: true });
    if (made.includes('user')) admin('userdel', [member]);
    if (made.includes('group')) admin('groupdel', [group]);
  }
});

test("root: a sandbox path's submounts are read-only too (one with a space in its name)", { skip: skip || (!isRoot && 'not root: needs a host mount') }, async () => {
  const fx = makeFixture();
  const src = mkdtempSync(join(tmpdir(), 'tix-sb-sub-'));
  const sub = join(src, 'sub dir');
  mkdirSync(sub);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0777', 'none', sub]).status, 0, 'mount a tmpfs');
  try {
    writeFileSync(join(sub, 'marker'), 'ON-THE-SUBMOUNT\n');
    fx.settings.set('extra-sandbox-paths', `/sp=${src}`);
    // Mounted after this process's idle helper started: the helper must notice (its copy of the
    // host's mounts is stale) and a fresh one see the submount.
    const r = await runBuilder(fx, 'cat "/sp/sub dir/marker"; touch "/sp/sub dir/x" && echo WROTE; touch /sp/y && echo WROTE-TOP; ls /sp; true');
    assert.ok(r.out.includes('ON-THE-SUBMOUNT') && !r.out.includes('WROTE') && (r.out.match(/Read-only file system/g) ?? []).length === 2, r.out);
    assert.ok(!existsSync(join(sub, 'x')) && !existsSync(join(src, 'y')));
  } finally {
    spawnSync('umount', ['-l', sub]);
    rmSync(src, { recursive: true, force: true });
    await fx.cleanup();
  }
});

test('no sandbox available: sandbox-fallback decides, and the message says why', { skip }, async () => {
  const { resetAvailability, createSandbox } = await import('../../src/build/sandbox/index.js');
  const fx = makeFixture();
  const warnings: string[] = [];
  const { setSandboxWarn } = await import('../../src/build/sandbox/index.js');
  setSandboxWarn((m) => warnings.push(m));
  resetAvailability({ ok: false, reason: 'user namespaces appear to be disabled; check /proc/sys/user/max_user_namespaces' });
  try {
    const opts = {
      drvPath: join(fx.store, `${'e'.repeat(32)}-x.drv`), storeDir: fx.store, buildDir: fx.build, inputClosure: new Set([fx.dep]),
      outputs: new Map([['out', fx.out]]), network: false, noChroot: false, settings: fx.settings, requiredSystemFeatures: [],
    };
    const sb = await createSandbox(opts);
    assert.equal(sb.buildDirInSandbox, fx.build, 'falls back to an unsandboxed build');
    const child = await sb.spawn({ builder: '/bin/sh', args: ['-c', 'cat "$secret/f"'], env: { secret: fx.secret }, cwd: fx.build });
    let out = '';
    child.output.on('data', (d: Buffer) => (out += d.toString()));
    assert.equal((await child.exited).code, 0);
    // 'exit' may come before the last output (Node's child_process): read to the end.
    await finished(child.output);
    await sb.destroy();
    assert.match(out, /SECRET-CONTENT/, 'and is really unsandboxed');
    assert.match(warnings.join('\n'), /sandbox is not available: user namespaces appear to be disabled.*building without the sandbox because 'sandbox-fallback' is true/);
    fx.settings.set('sandbox-fallback', 'false');
    await assert.rejects(createSandbox(opts), (e: Error & { code?: string }) =>
      e.code === 'E0601' && /max_user_namespaces; not building without it because 'sandbox-fallback' is false/.test(e.message));
  } finally {
    resetAvailability();
    setSandboxWarn((m) => process.stderr.write(`warning: ${m}\n`));
    await fx.cleanup();
  }
});

test('a builder that finishes before the caller listens still delivers its log and its end', { skip }, async () => {
  const { createSandbox } = await import('../../src/build/sandbox/index.js');
  const fx = makeFixture();
  try {
    for (const script of ['true', 'echo quick']) {
      const sb = await createSandbox({
        drvPath: join(fx.store, `${'e'.repeat(32)}-quick.drv`), storeDir: fx.store, buildDir: fx.build, inputClosure: new Set([fx.dep]),
        outputs: new Map([['out', fx.out]]), network: false, noChroot: false, settings: fx.settings, requiredSystemFeatures: [],
      });
      const child = await sb.spawn({ builder: '/bin/bash', args: ['-c', script], env: {}, cwd: sb.buildDirInSandbox });
      assert.equal((await child.exited).code, 0);
      await new Promise((r) => setTimeout(r, 100)); // Node has long seen the pipe's EOF
      let out = '';
      await new Promise<void>((resolve) => {
        child.output.on('data', (d: Buffer) => (out += d.toString()));
        child.output.on('end', resolve);
      });
      assert.equal(out, script === 'true' ? '' : 'quick\n');
      await sb.destroy();
    }
  } finally {
    await fx.cleanup();
  }
});

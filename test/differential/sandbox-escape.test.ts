/**
 * Escape attempts against the build sandbox (issue 7 acceptance): each
 * scenario in sandbox-scenarios.ts must hold as root (in-process) and as an
 * unprivileged user (a throwaway account, the scenarios run as a program).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, chownSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxAvailability } from '../../src/build/sandbox/index.js';
import { SCENARIOS, runScenario, type Outcome } from './sandbox-scenarios.js';

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
    const r = spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', USER]);
    if (r.status !== 0) return t.skip(`cannot create a test user: ${r.stderr}`);
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
    if (created) spawnSync('userdel', [USER]);
  }
});

/**
 * Peer credentials (SO_PEERCRED) decide who may connect and who is trusted:
 * a reference client running as `nobody` against either daemon, under
 * `allowed-users` / `trusted-users` entries naming users and `@groups`, must
 * see the same outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise } from '../harness/index.js';
import { runRefAsync, startNixDaemon } from './daemon-harness.js';

const SETPRIV = '/usr/bin/setpriv';

const CONFS: [string, string][] = [
  ['nobody refused by allowed-users', 'allowed-users = root'],
  ['nobody allowed, untrusted', 'allowed-users = *\ntrusted-users = root'],
  ['nobody trusted by name', 'trusted-users = root nobody'],
  ['nobody trusted by @group', 'trusted-users = root @nogroup'],
];

async function outcome(kind: 'ref' | 'tix', dir: string, conf: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir, conf });
  const d = await startNixDaemon(kind, root);
  try {
    // `--verify --repair` needs trust; `--verify` only a connection.
    const asNobody = (args: string[]) =>
      runRefAsync(root, 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/nix-store', ...args], { NIX_REMOTE: 'daemon', HOME: '/tmp' }, '/usr/bin');
    const a = await asNobody(['--verify']);
    const b = await asNobody(['--verify', '--repair']);
    // A refused client fails on its next read or write, whichever comes first: either text.
    const clean = (s: string): string =>
      normalise(s.replace(/\x1b\[[0-9;]*m/g, ''), root)
        .replace(/error: (reading from|writing to) file: (Connection reset by peer|Broken pipe)/g, 'error: connection closed by the daemon')
        .split('\n').filter((l) => l.startsWith('error:')).join('\n');
    return `verify: ${a.status} ${clean(a.stderr)} | repair: ${b.status} ${clean(b.stderr)}`;
  } finally {
    await d.stop();
    root.cleanup();
  }
}

test('allowed-users / trusted-users from peer credentials match the reference daemon', { skip: !haveReference() || !existsSync(SETPRIV) }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-peer-'));
  chmodSync(base, 0o755); // the client runs as nobody
  try {
    const seen = new Set<string>();
    for (const [name, conf] of CONFS) {
      const ref = await outcome('ref', join(base, 'r'), conf);
      const tix = await outcome('tix', join(base, 'r'), conf);
      assert.equal(tix, ref, name);
      seen.add(ref);
    }
    // The configurations really lead to different outcomes (refused / untrusted / trusted).
    assert.ok(seen.size >= 3, [...seen].join('\n'));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

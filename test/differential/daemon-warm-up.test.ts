/**
 * The tix daemon's warm-up before it listens (src/protocol/warm-up.ts, the
 * daemon CLI): it touches nothing of the served store, leaves no throwaway
 * directory behind, and a SIGTERM while it runs ends the daemon cleanly
 * without ever listening.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TIX_BIN, makeRoot } from '../harness/index.js';
import { RemoteStore, unixConnector } from '../../src/protocol/index.js';
import { socketOf, startNixDaemon } from './daemon-harness.js';

/** Throwaway dirs of daemon `pid` (under /dev/shm, or the temp dir without one). */
function warmDirsOf(pid: number): string[] {
  const prefix = `tix-warm-build-${pid}-daemon-`;
  return ['/dev/shm', tmpdir()].flatMap((d) => (existsSync(d) ? readdirSync(d).filter((e) => e.startsWith(prefix)) : []));
}

test('tix daemon warm-up: the served store is untouched and the throwaway dir is gone once it listens', async () => {
  const root = makeRoot();
  const d = await startNixDaemon('tix', root, { TIX_DAEMON_WARM_UP_MS: '300' });
  try {
    assert.deepEqual(warmDirsOf(d.proc.pid!), []);
    assert.deepEqual(readdirSync(root.storeDir).filter((e) => !e.startsWith('.')), [], 'nothing added to the served store');
    const c = new RemoteStore({ storeDir: root.storeDir, connect: unixConnector(d.socket), maxConnections: 1 });
    try {
      assert.deepEqual(await c.queryAllValidPaths(), [], 'no valid path in the served store');
    } finally {
      await c.close();
    }
  } finally {
    await d.stop();
    root.cleanup();
  }
});

test('tix daemon warm-up: SIGTERM while it runs exits 0 without listening and removes its dir', async () => {
  const root = makeRoot();
  try {
    const proc = spawn(join(TIX_BIN, 'nix-daemon'), [], { env: { ...root.env, NIX_REMOTE: '', TIX_DAEMON_WARM_UP_MS: '20000' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    // Wait until the warm-up has started (its dir exists), then stop the daemon.
    const end = Date.now() + 20_000;
    while (warmDirsOf(proc.pid!).length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.notEqual(warmDirsOf(proc.pid!).length, 0, 'warm-up started');
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(warmDirsOf(proc.pid!), []);
    assert.equal(existsSync(socketOf(root)), false, 'never listened');
  } finally {
    root.cleanup();
  }
});

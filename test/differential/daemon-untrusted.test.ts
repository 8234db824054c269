/**
 * Untrusted clients (issue 6): with `trusted-users` not naming the caller, the
 * reference clients get the same successes and the same error texts from
 * tix's daemon as from the reference daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runRef } from '../harness/index.js';
import { startNixDaemon } from './daemon-harness.js';
import { populate } from './daemon-scenario.js';
import { StorePath, WireWriter, hashBytes } from '../../src/formats/index.js';
import { RemoteStore, unixConnector } from '../../src/protocol/index.js';

interface Row {
  name: string;
  status: number;
  stdout: string;
  error: string;
}

/** The `error:` lines, without colours (2.8 sends some errors twice; compare the set). */
function errorLines(stderr: string): string {
  const lines = stderr.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.startsWith('error:'));
  return [...new Set(lines)].join('\n');
}

async function scenario(kind: 'ref' | 'tix', dir: string): Promise<Row[]> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir, conf: 'trusted-users = nobody-at-all' });
  populate(root);
  // The .drv is made with a local (trusted) store so both daemons see the same one.
  const drv = runRef(root, 'nix-instantiate', ['simple.nix'], { env: { NIX_REMOTE: '' } }).stdout.trim();
  runRef(root, 'nix-store', ['--generate-binary-cache-key', 'k', 'sk', 'pk']);
  const d = await startNixDaemon(kind, root);
  const rows: Row[] = [];
  const run = (name: string, prog: string, args: string[]): string => {
    const r = runRef(root, prog, args, { env: { NIX_REMOTE: 'daemon' } });
    rows.push({ name, status: r.status, stdout: normalise(r.stdout.trim(), root), error: normalise(errorLines(r.stderr), root) });
    return r.stdout.trim();
  };
  try {
    const f = run('add (untrusted, CA)', 'nix-store', ['--add', 'f.txt']);
    run('add-path (AddToStoreNar, CA)', 'nix', ['store', 'add-path', 'dir']);
    run('realise --repair', 'nix-store', ['-r', '--repair', drv]);
    run('realise', 'nix-store', ['-r', drv]);
    run('verify --repair', 'nix-store', ['--verify', '--repair']);
    run('sign', 'nix', ['store', 'sign', '-k', 'sk', f]);
    run('print-dead', 'nix-store', ['--gc', '--print-dead']);
    run('query references', 'nix-store', ['-q', '--references', drv]);
    // An unsigned input-addressed upload, even when the client asks to skip signature checks.
    const c = new RemoteStore({ storeDir: root.storeDir, connect: unixConnector(d.socket) });
    const nar = new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('contents').string('ia').string(')').take();
    const path = new StorePath('5'.repeat(32) + '-ia');
    let err = '';
    try {
      await c.addToStoreNar({ path, narHash: hashBytes('sha256', nar), narSize: nar.length, references: [], registrationTime: 0, ultimate: true, sigs: [] }, (async function* () { yield nar; })(), { dontCheckSigs: true });
    } catch (e) {
      err = (e as Error).message.replace(/\x1b\[[0-9;]*m/g, '');
    } finally {
      await c.close();
    }
    rows.push({ name: 'unsigned AddToStoreNar', status: err === '' ? 0 : 1, stdout: '', error: normalise(err, root) });
    return rows;
  } finally {
    await d.stop();
    root.cleanup();
  }
}

test('untrusted clients: same successes and error texts as the reference daemon', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-untrusted-'));
  try {
    const ref = await scenario('ref', join(base, 'r'));
    if (process.env.TIX_DEBUG) console.log(JSON.stringify(ref, null, 1));
    const tix = await scenario('tix', join(base, 'r'));
    for (const [i, r] of ref.entries()) assert.deepEqual(tix[i], r, r.name);
    assert.match(ref.find((r) => r.name === 'realise --repair')!.error, /not in 'trusted-users'/);
    assert.match(ref.find((r) => r.name === 'unsigned AddToStoreNar')!.error, /lacks a valid signature/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

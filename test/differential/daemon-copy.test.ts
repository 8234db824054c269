/**
 * `nix copy --to unix://…` (QueryValidPaths + AddMultipleToStore, spec §11)
 * from a reference local store into a daemon whose store shares the store
 * directory but has its own database: the tix daemon must register the same
 * paths as the reference daemon, and refuse unsigned input-addressed paths
 * without `--no-check-sigs` with the same error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runRef } from '../harness/index.js';
import { runRefAsync, startNixDaemon } from './daemon-harness.js';
import { populate } from './daemon-scenario.js';

const errors = (s: string): string => [...new Set(s.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.startsWith('error:')))].join('\n');
const dropTimes = (s: string): string => s.replace(/"registrationTime":\d+/g, '"registrationTime":T');

async function scenario(kind: 'ref' | 'tix', dir: string): Promise<string[]> {
  mkdirSync(join(dir, 'a'), { recursive: true });
  mkdirSync(join(dir, 'b'), { recursive: true });
  const src = makeRoot({ dir: join(dir, 'a') });
  populate(src);
  const f = runRef(src, 'nix-store', ['--add', 'f.txt']).stdout.trim();
  const out = runRef(src, 'nix-build', ['simple.nix', '--no-out-link']).stdout.trim();
  // The destination: same store directory, its own state (database).
  const dst = makeRoot({ dir: join(dir, 'b'), conf: 'trusted-users = root' });
  dst.env.NIX_STORE_DIR = src.storeDir;
  const d = await startNixDaemon(kind, dst);
  const to = `unix://${d.socket}`;
  const rows: string[] = [];
  try {
    const signed = await runRefAsync(src, 'nix', ['copy', '--to', to, out]);
    rows.push(`copy without --no-check-sigs: ${signed.status} ${normalise(errors(signed.stderr), src)}`);
    const copy = await runRefAsync(src, 'nix', ['copy', '--no-check-sigs', '--to', to, out, f]);
    rows.push(`copy: ${copy.status} ${normalise(errors(copy.stderr), src)}`);
    const info = await runRefAsync(dst, 'nix', ['path-info', '-r', '--json', out, f], { NIX_REMOTE: to });
    rows.push(`path-info: ${info.status} ${dropTimes(normalise(info.stdout.trim(), src))}`);
    const again = await runRefAsync(src, 'nix', ['copy', '--no-check-sigs', '--to', to, out]);
    rows.push(`copy again: ${again.status}`);
    return rows;
  } finally {
    await d.stop();
    dst.cleanup();
    src.cleanup();
  }
}

test('nix copy --to unix:// (AddMultipleToStore) registers the same paths as with the reference daemon', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-copy-'));
  try {
    const ref = await scenario('ref', join(base, 'r'));
    if (process.env.TIX_DEBUG) console.log(ref.join('\n'));
    const tix = await scenario('tix', join(base, 'r'));
    assert.deepEqual(tix, ref);
    assert.match(ref[1]!, /^copy: 0/);
    assert.match(ref[2]!, /"path":/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

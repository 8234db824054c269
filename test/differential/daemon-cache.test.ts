/**
 * The tix daemon's path-info cache stays correct when the store changes
 * (src/protocol/worker/path-info-cache.ts): a path deleted by a local
 * `nix-store --delete` in another process is "not valid" at once on every
 * connection that had it cached, comes back when re-added, and a change made
 * through one connection (AddSignatures) is seen by the others. (2.8's daemon
 * keeps answering "valid" from its per-connection cache after such a delete:
 * docs/deviations.md, so this runs against tix only.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRoot, runTix } from '../harness/index.js';
import { startNixDaemon } from './daemon-harness.js';
import { StorePath } from '../../src/formats/index.js';
import { RemoteStore, unixConnector } from '../../src/protocol/index.js';

test('tix daemon: cached path infos follow deletes by other processes and changes through other connections', async () => {
  const root = makeRoot({ conf: 'trusted-users = root' });
  const local = { env: { NIX_REMOTE: '' } };
  const d = await startNixDaemon('tix', root);
  const clients = [0, 1].map(() => new RemoteStore({ storeDir: root.storeDir, connect: unixConnector(d.socket), maxConnections: 1 }));
  const [a, b] = clients as [RemoteStore, RemoteStore];
  try {
    const file = join(root.dir, 'cached.txt');
    writeFileSync(file, 'cached\n');
    const printed = runTix(root, 'nix-store', ['--add', file], local).stdout.trim();
    const p = new StorePath(printed.slice(printed.lastIndexOf('/') + 1));
    for (let i = 0; i < 3; i++) assert.ok(await a.queryPathInfo(p), 'valid through connection a');
    assert.ok(await b.queryPathInfo(p), 'valid through connection b');

    const del = runTix(root, 'nix-store', ['--delete', printed], local);
    assert.equal(del.status, 0, del.stderr);
    assert.equal(await a.queryPathInfo(p), undefined, 'deleted by another process: not valid on a');
    assert.equal(await b.queryPathInfo(p), undefined, 'nor on b');
    assert.equal(await a.isValidPath(p), false);

    assert.equal(runTix(root, 'nix-store', ['--add', file], local).stdout.trim(), printed);
    const again = await a.queryPathInfo(p);
    assert.ok(again, 're-added: valid again');
    assert.deepEqual(again.sigs, []);

    const sig = 'cache.example.org-1:' + Buffer.alloc(64, 7).toString('base64');
    await b.addSignatures(p, [sig]);
    assert.deepEqual((await a.queryPathInfo(p))?.sigs, [sig], "a change through b is seen on a");
    assert.equal(d.proc.exitCode, null, d.stderr());
  } finally {
    for (const c of clients) await c.close();
    await d.stop();
    root.cleanup();
  }
});

/**
 * The hook end to end in-process: a real LocalStore, the real worker-protocol
 * server and the tix client (RemoteStore) talking over the build's socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../../core/index.js';
import { LocalStore, type KeyedBuildResult } from '../../store/index.js';
import { RecursiveRegistry, type RecursiveBuildContext } from '../../build/index.js';
import { RemoteStore, unixConnector } from '../../protocol/index.js';
import { startRecursiveServer } from './hook.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s));

async function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'tix-rhook-'));
  const storeDir = join(dir, 'store');
  const settings = new Settings();
  settings.set('experimental-features', 'nix-command recursive-nix');
  const store = LocalStore.open({ storeDir, stateDir: join(dir, 'var'), settings });
  const dep = await store.addTextToStore('dep', enc('dependency'), []);
  const input = await store.addTextToStore('config.nix', enc(`uses ${storeDir}/${dep.baseName}`), [dep]);
  const unreachable = await store.addTextToStore('secret', enc('top secret'), []);
  const drvText = `Derive([("out","${storeDir}/${'1'.repeat(32)}-outer","","")],[],["${storeDir}/${input.baseName}"],"x86_64-linux","/bin/bash",[],[("requiredSystemFeatures","recursive-nix")])`;
  const drvPath = await store.addTextToStore('outer.drv', enc(drvText), [input]);
  const buildDir = join(dir, 'build');
  mkdirSync(buildDir);
  const log: string[] = [];
  const ctx: RecursiveBuildContext = {
    drvPath,
    store,
    storeDir,
    buildDir,
    buildDirInSandbox: buildDir,
    inputClosure: [input, dep],
    sandboxed: false,
    addPath: async () => {},
    buildPaths: async (): Promise<KeyedBuildResult[]> => [],
    appendLog: (l) => log.push(l),
    settings,
  };
  const server = await startRecursiveServer(ctx, { logDir: join(dir, 'log'), registry: new RecursiveRegistry() });
  const client = new RemoteStore({ storeDir, connect: unixConnector(join(buildDir, '.nix-socket')) });
  return { dir, storeDir, store, dep, input, unreachable, server, client, log, buildDir };
}

test('the builder\'s client sees the restricted, censored store through the socket', async () => {
  const s = await setUp();
  try {
    assert.equal(s.server.env.NIX_REMOTE, `unix://${s.buildDir}/.nix-socket`);
    assert.equal(statSync(join(s.buildDir, '.nix-socket')).mode & 0o777, 0o600);
    const info = await s.client.queryPathInfo(s.input);
    assert.ok(info);
    assert.equal(info.deriver, undefined);
    assert.equal(info.registrationTime, 0);
    assert.equal(info.ultimate, false);
    assert.deepEqual(info.references.map(String), [s.dep.baseName]);
    assert.equal(await s.client.isValidPath(s.unreachable), false);
    assert.equal(await s.client.queryPathInfo(s.unreachable), undefined);
    assert.equal((await s.client.queryAllValidPaths()).length, 2);
    // 6.1: reads go through the allowed set (the protocol server asks the
    // restricted store for validity first, so the text is "not valid").
    await assert.rejects(async () => {
      for await (const _ of s.client.narFromPath(s.unreachable)) void _;
    }, /cannot dump unknown path '.*-secret' in recursive Nix|path '.*-secret' is not valid/);
    // 6.2: forged references are refused; honest adds join the set.
    await assert.rejects(() => s.client.addTextToStore('x', enc('x'), [s.unreachable]), /claims a reference to '.*-secret'/);
    const added = await s.client.addTextToStore('ok', enc('fine'), [s.input]);
    assert.equal(await s.client.isValidPath(added), true);
    assert.deepEqual([...s.server.addedPaths()].map(String), [added.baseName]);
    await assert.rejects(() => s.client.ensurePath(s.unreachable), /cannot substitute unknown path/);
    await assert.rejects(
      () => s.client.buildPaths([{ kind: 'built', drvPath: s.unreachable, outputs: ['out'] }]),
      /cannot build '.*-secret!out' in recursive Nix because path is unknown/,
    );
    assert.ok(s.log.some((l) => l.startsWith('tix-recursive: add') && l.includes(added.baseName)), s.log.join('\n'));
  } finally {
    await s.server.stop();
    await s.client.close?.();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('6.4: hang-ups and garbage do not disturb the server; stop drops a connected client', async () => {
  const s = await setUp();
  try {
    const sock = join(s.buildDir, '.nix-socket');
    for (const payload of [undefined, Buffer.from('garbage that is no handshake'), Buffer.alloc(8, 0xff)]) {
      await new Promise<void>((res) => {
        const c = connect(sock, () => {
          if (payload) c.write(payload);
          c.end();
        });
        c.on('error', () => res());
        c.on('close', () => res());
      });
    }
    assert.equal(await s.client.isValidPath(s.input), true, 'still serving');
    // The client keeps its pooled connection open; stop must not wait for it.
    await s.server.stop();
    await assert.rejects(() => s.client.isValidPath(s.input));
  } finally {
    await s.client.close?.();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** The per-build socket's lifecycle and robustness (issue 8 §2, §6.4), with a scripted protocol server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../store/index.js';
import { RecursiveSocket, type ServeConnection } from './socket-server.js';

/** Echoes bytes back; the session ends when the client goes away or it is closed. */
const echo: ServeConnection = (socket) => {
  socket.on('data', (d) => socket.write(d));
  const done = new Promise<void>((res) => socket.on('close', () => res()));
  return { done, close: () => socket.destroy() };
};

const fakeStore = {} as Store;

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tix-rsock-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function open(path: string): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(path, () => res(s));
    s.on('error', rej);
  });
}

function closed(s: Socket): Promise<void> {
  return new Promise((res) => (s.destroyed ? res() : s.on('close', () => res())));
}

test('socket is 0600, serves clients, and is removed at stop', () =>
  withDir(async (dir) => {
    const path = join(dir, '.nix-socket');
    const srv = await RecursiveSocket.listen({ socketPath: path, store: fakeStore, serve: echo });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const c = await open(path);
    c.write('ping');
    const got = await new Promise<string>((res) => c.once('data', (d) => res(d.toString())));
    assert.equal(got, 'ping');
    c.destroy();
    await srv.stop();
    assert.equal(existsSync(path), false);
  }));

test('clients that connect and close, or send garbage, leave the server serving', () =>
  withDir(async (dir) => {
    const path = join(dir, '.nix-socket');
    const srv = await RecursiveSocket.listen({ socketPath: path, store: fakeStore, serve: echo });
    for (let i = 0; i < 10; i++) {
      const c = await open(path);
      if (i % 2 === 0) c.write(Buffer.from([0xff, 0, 1, 2]));
      c.destroy();
    }
    const c = await open(path);
    c.write('still here');
    assert.equal(await new Promise<string>((res) => c.once('data', (d) => res(d.toString()))), 'still here');
    c.destroy();
    await srv.stop();
    assert.equal(srv.connections, 11);
  }));

test('a lingering connection does not delay stop; the client is disconnected', () =>
  withDir(async (dir) => {
    const path = join(dir, '.nix-socket');
    const srv = await RecursiveSocket.listen({ socketPath: path, store: fakeStore, serve: echo });
    const c = await open(path);
    c.on('error', () => {});
    // Wait until the server has registered it.
    while (srv.liveConnections === 0) await new Promise((r) => setImmediate(r));
    await srv.stop();
    await closed(c);
    assert.equal(srv.liveConnections, 0);
    await assert.rejects(() => open(path));
  }));

test('connections beyond the bound are refused; a throwing server drops only that client', () =>
  withDir(async (dir) => {
    const path = join(dir, '.nix-socket');
    let n = 0;
    const serve: ServeConnection = (s, st, o) => {
      if (++n === 3) throw new Error('boom');
      return echo(s, st, o);
    };
    const srv = await RecursiveSocket.listen({ socketPath: path, store: fakeStore, serve, maxConnections: 2 });
    const a = await open(path);
    const b = await open(path);
    while (srv.liveConnections < 2) await new Promise((r) => setImmediate(r));
    const over = await open(path);
    await closed(over);
    a.destroy();
    while (srv.liveConnections > 1) await new Promise((r) => setImmediate(r));
    const thrower = await open(path);
    await closed(thrower);
    const d = await open(path);
    d.write('x');
    assert.equal(await new Promise<string>((res) => d.once('data', (x) => res(x.toString()))), 'x');
    b.destroy();
    d.destroy();
    await srv.stop();
  }));

test('a socket path longer than sun_path is bound from its directory', () =>
  withDir(async (dir) => {
    const deep = join(dir, 'x'.repeat(60), 'y'.repeat(60));
    (await import('node:fs')).mkdirSync(deep, { recursive: true });
    const path = join(deep, '.nix-socket');
    assert.ok(Buffer.byteLength(path) > 107);
    const srv = await RecursiveSocket.listen({ socketPath: path, store: fakeStore, serve: echo });
    assert.equal(statSync(path).isSocket(), true);
    await srv.stop();
  }));

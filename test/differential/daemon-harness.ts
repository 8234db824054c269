/**
 * Helpers for daemon tests: run the reference `nix-daemon` or tix's in the
 * foreground in an isolated root, wait for its socket, and optionally put a
 * recording proxy in front of it (client↔daemon transcripts for replay/fuzz).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REF_BIN, TIX_BIN, type NixRoot } from '../harness/index.js';
import { StorePath } from '../../src/formats/index.js';
import { RemoteStore, unixConnector } from '../../src/protocol/index.js';

export interface RunningDaemon {
  socket: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export function socketOf(root: NixRoot): string {
  return join(root.stateDir, 'daemon-socket', 'socket');
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

async function settle(socket: string, storeDir: string): Promise<void> {
  for (let i = 0; ; i++) {
    const c = new RemoteStore({ storeDir, connect: unixConnector(socket), maxConnections: 1 });
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer from the daemon')), 10_000)));
      await Promise.race([c.isValidPath(new StorePath('0'.repeat(32) + '-settle')), timeout]).finally(() => clearTimeout(timer));
      return;
    } catch (e) {
      if (i >= 20) throw e;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await c.close();
    }
  }
}

/** Start `nix-daemon` (reference or tix) in the foreground for `root`. */
export async function startNixDaemon(kind: 'ref' | 'tix', root: NixRoot, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  const socket = socketOf(root);
  rmSync(socket, { force: true });
  const bin = join(kind === 'ref' ? REF_BIN : TIX_BIN, 'nix-daemon');
  const proc = spawn(bin, [], { env: { ...root.env, NIX_REMOTE: '', ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  try {
    await waitFor(() => existsSync(socket) || proc.exitCode !== null, 20_000, `${kind} daemon socket`);
    // The socket file appears at bind(), before listen(): under load a client can
    // be refused in between, so wait until a connection is actually accepted.
    const end = Date.now() + 20_000;
    while (proc.exitCode === null && !(await canConnect(socket))) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${kind} daemon to listen`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (proc.exitCode !== null) throw new Error(`${kind} daemon exited: ${err}`);
    // 2.8 on a fresh store: the probe's connection and the next one both create
    // the database, and one of them may die with "SQLite database is busy".
    // One completed request first makes the store exist.
    await settle(socket, root.env.NIX_STORE_DIR ?? root.storeDir);
  } catch (e) {
    // A daemon left running would keep the test process alive forever.
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    socket,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface Chunk {
  dir: 'c2s' | 's2c';
  data: Buffer;
}

export interface Recorder {
  socket: string;
  /** One transcript per accepted connection, in order of acceptance. */
  sessions: Chunk[][];
  close(): Promise<void>;
}

/** A proxy on `listenPath` forwarding to `target` and recording both directions. */
export async function startRecorder(listenPath: string, target: string): Promise<Recorder> {
  rmSync(listenPath, { force: true });
  const sessions: Chunk[][] = [];
  const server: Server = createServer((client) => {
    const log: Chunk[] = [];
    sessions.push(log);
    const upstream = createConnection(target);
    client.on('data', (d) => {
      log.push({ dir: 'c2s', data: Buffer.from(d) });
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      log.push({ dir: 's2c', data: Buffer.from(d) });
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(listenPath, () => r()));
  return {
    socket: listenPath,
    sessions,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The client's half of a transcript, concatenated. */
export function clientBytes(session: Chunk[]): Buffer {
  return Buffer.concat(session.filter((c) => c.dir === 'c2s').map((c) => c.data));
}

/** Like the harness's `runRef`, but asynchronous, so an in-process proxy keeps running. */
export function runRefAsync(
  root: NixRoot,
  prog: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  bin = REF_BIN,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(bin, prog), args, { env: { ...root.env, ...env }, cwd: root.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ status: code ?? 128, stdout, stderr });
    });
  });
}

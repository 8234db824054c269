/**
 * The per-build socket (Nix 2.8 `startDaemon`/`stopDaemon`, spec
 * recursive-nix.md §2): `<build dir>/.nix-socket`, mode 0600, listening before
 * the builder starts; each connection is served in this process by the
 * worker-protocol server over the build's `RestrictedStore`, as an untrusted
 * client in recursive mode (SetOptions ignored).
 *
 * Beyond 2.8 (issue 8 §6.4): a client can neither crash nor hang the outer
 * build. Each connection is isolated (the protocol server never throws out of a
 * session); the number of live connections is bounded; and at the end of the
 * build every connection is destroyed instead of joined, so a client that keeps
 * its connection open cannot delay completion (2.8 waits for it).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { NixError, Verbosity, type Logger } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { RecursiveErrorCode } from '../../build/index.js';

/** The protocol server's entry point (`serveConnection`), injected to keep this testable. */
export type ServeConnection = (
  socket: Socket,
  store: Store,
  opts: { trusted: false; recursive: true; logger?: Logger },
) => { done: Promise<void>; close(): void };

export interface RecursiveSocketOptions {
  /** Host path of the socket (`<build dir>/.nix-socket`). */
  socketPath: string;
  store: Store;
  serve: ServeConnection;
  logger?: Logger;
  /** Live connections beyond this are refused (closed at once). */
  maxConnections?: number;
  /** Give the socket to the build user (Nix chowns it so the builder can connect). */
  owner?: { uid: number; gid: number };
}

/** `sun_path` holds 108 bytes including the terminating NUL. */
const MAX_SUN_PATH = 107;

export class RecursiveSocket {
  private readonly live = new Set<{ close(): void; socket: Socket }>();
  private stopped = false;
  connections = 0;

  private constructor(
    private readonly server: Server,
    private readonly opts: RecursiveSocketOptions,
  ) {}

  static async listen(opts: RecursiveSocketOptions): Promise<RecursiveSocket> {
    try {
      unlinkSync(opts.socketPath);
    } catch {
      // Nothing there (the usual case).
    }
    const server = createServer({ allowHalfOpen: false });
    const self = new RecursiveSocket(server, opts);
    server.on('connection', (s) => self.accept(s));
    // Errors after listening (EMFILE on accept…) must not take the build down.
    await bindSocket(server, opts.socketPath);
    server.on('error', (e) => opts.logger?.log(Verbosity.Error, `error: recursive Nix socket: ${e.message}`));
    chmodSync(opts.socketPath, 0o600);
    if (opts.owner !== undefined) chownSync(opts.socketPath, opts.owner.uid, opts.owner.gid);
    return self;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.stopped || this.live.size >= (this.opts.maxConnections ?? 64)) {
      socket.destroy();
      return;
    }
    this.connections++;
    let conn: { done: Promise<void>; close(): void };
    try {
      conn = this.opts.serve(socket, this.opts.store, { trusted: false, recursive: true, logger: this.opts.logger });
    } catch (e) {
      this.opts.logger?.log(Verbosity.Error, `error: recursive Nix connection: ${(e as Error).message}`);
      socket.destroy();
      return;
    }
    const entry = { close: () => conn.close(), socket };
    this.live.add(entry);
    void conn.done.catch(() => {}).finally(() => this.live.delete(entry));
  }

  get liveConnections(): number {
    return this.live.size;
  }

  /** Stop accepting and drop every client at once (after the builder exited). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const closed = new Promise<void>((res) => this.server.close(() => res()));
    for (const c of this.live) {
      try {
        c.close();
      } finally {
        c.socket.destroy();
      }
    }
    this.live.clear();
    await closed;
    try {
      unlinkSync(this.opts.socketPath);
    } catch {
      // Already gone with the build dir.
    }
  }
}

/**
 * `bind` the socket. A path longer than `sun_path` is bound by its base name
 * from inside its directory, as Nix does; Node binds synchronously within
 * `listen`, so changing the cwd around the call is safe on the main thread.
 */
function bindSocket(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (Buffer.byteLength(path) <= MAX_SUN_PATH) {
      server.listen(path, done);
      return;
    }
    if (!isMainThread) {
      reject(new NixError(RecursiveErrorCode.E_SOCKET, `the recursive Nix socket path '${path}' is too long`));
      return;
    }
    const old = process.cwd();
    process.chdir(dirname(path));
    try {
      server.listen(basename(path), done);
    } finally {
      process.chdir(old);
    }
  });
}

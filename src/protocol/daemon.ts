/**
 * The daemon (nix/daemon.cc in 2.8): listen on the socket, decide per
 * connection from the peer's credentials whether it is allowed and trusted
 * (`allowed-users`, `trusted-users`, `@group` entries, never the build users
 * group), then serve it on its own async task so no client blocks another.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { Verbosity, type Logger, type Settings } from '../core/index.js';
import type { Store } from '../store/store.js';
import { getPeerCredentials } from './peer-cred.js';
import { allConnections, serveConnection, ConnectionSet } from './worker/server.js';
import type { PeerCredentials } from './worker/connection.js';
import type { PathInfoCacheOptions } from './worker/path-info-cache.js';

export interface DaemonOptions {
  socketPath: string;
  store: Store;
  settings: Settings;
  logger?: Logger;
  /** Per-connection path-info caches (see worker/path-info-cache.ts). */
  pathInfoCache?: PathInfoCacheOptions;
}

export interface Daemon {
  server: Server;
  connections: ConnectionSet;
  close(): Promise<void>;
}

export interface PeerNames {
  user: string;
  group: string;
  /** Groups listing the user as a member (/etc/group). */
  memberOf: Set<string>;
}

function readLines(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** Names as Nix derives them: the passwd/group name, else the number. */
export function peerNames(peer: PeerCredentials | undefined): PeerNames {
  if (!peer) return { user: '-1', group: '-1', memberOf: new Set() };
  const pw = readLines('/etc/passwd').find((f) => f[2] === String(peer.uid));
  const groups = readLines('/etc/group');
  const user = pw?.[0] ?? String(peer.uid);
  const group = groups.find((f) => f[2] === String(peer.gid))?.[0] ?? String(peer.gid);
  const memberOf = new Set(groups.filter((f) => (f[3] ?? '').split(',').includes(user)).map((f) => f[0]!));
  return { user, group, memberOf };
}

/** Nix's `matchUser`: `*`, the user name, or `@group` (primary group or member). */
export function matchUser(names: PeerNames, users: string[]): boolean {
  if (users.includes('*') || users.includes(names.user)) return true;
  return users.some((u) => u.startsWith('@') && (u.slice(1) === names.group || names.memberOf.has(u.slice(1))));
}

export function isTrusted(settings: Settings, names: PeerNames): boolean {
  return matchUser(names, settings.getList('trusted-users', ['root']));
}

export function isAllowed(settings: Settings, names: PeerNames): boolean {
  const trusted = isTrusted(settings, names);
  const buildGroup = settings.getString('build-users-group', '');
  if (buildGroup !== '' && names.group === buildGroup) return false;
  return trusted || matchUser(names, settings.getList('allowed-users', ['*']));
}

/**
 * Temp roots: 2.8 forks per connection, so a client's temp roots die with its
 * connection. Our connections share one process (and its temproots file), so
 * we release them when no connection is left: a root lives at least as long
 * as the connection that made it (docs/deviations.md).
 */
class TempRootReleaser {
  private releasing: Promise<void> = Promise.resolve();
  constructor(private readonly store: Store) {}
  release(): void {
    const tr = (this.store as { tempRoots?: { close?: () => Promise<void> } }).tempRoots;
    if (typeof tr?.close !== 'function') return;
    this.releasing = this.releasing.then(() => tr.close!()).catch(() => undefined);
  }
  /** New connections wait until a release in progress is done. */
  ready(): Promise<void> {
    return this.releasing;
  }
}

export function handleConnection(socket: Socket, opts: DaemonOptions, connections: ConnectionSet): void {
  socket.on('error', () => undefined);
  const peer = getPeerCredentials(socket);
  const names = peerNames(peer);
  if (!isAllowed(opts.settings, names)) {
    opts.logger?.log(Verbosity.Error, `error: user '${names.user}' is not allowed to connect to the Nix daemon`);
    socket.destroy();
    return;
  }
  const trusted = isTrusted(opts.settings, names);
  opts.logger?.log(
    Verbosity.Info,
    `accepted connection from pid ${peer?.pid ?? '<unknown>'}, user ${names.user}${trusted ? ' (trusted)' : ''}`,
  );
  const conn = serveConnection(socket, opts.store, {
    trusted, settings: opts.settings, peer, logger: opts.logger, pathInfoCache: opts.pathInfoCache,
  });
  connections.add(conn);
}

/** Listen on `socketPath` (mode 0666, access control after accept). */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  mkdirSync(dirname(opts.socketPath), { recursive: true });
  try {
    unlinkSync(opts.socketPath);
  } catch {
    // no stale socket
  }
  const connections = new ConnectionSet();
  const roots = new TempRootReleaser(opts.store);
  connections.onIdle = () => roots.release();
  const server = createServer({ allowHalfOpen: false }, (s) => {
    s.pause();
    void roots.ready().then(() => {
      s.resume();
      handleConnection(s, opts, connections);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => resolve());
  });
  chmodSync(opts.socketPath, 0o666);
  return {
    server,
    connections,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      await connections.closeAll();
      await closed;
    },
  };
}

export { allConnections };

/**
 * Store URIs served by the worker protocol (uds-remote-store.cc,
 * ssh-store.cc): `daemon`, `unix://PATH`, `ssh-ng://[user@]host?params`.
 * `auto` is decided by the caller (glue/open-store.ts), which needs to know
 * whether the local store is writable.
 */
import { join } from 'node:path';
import { NixError, type Logger, type Settings } from '../core/index.js';
import { ProtocolErrorCode } from './errors.js';
import { commandConnector, unixConnector } from './worker/client-conn.js';
import { RemoteStore } from './worker/client.js';

export interface RemoteEnv {
  storeDir: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  settings?: Settings;
  logger?: Logger;
}

/** The daemon socket: `$NIX_DAEMON_SOCKET_PATH`, else `$NIX_STATE_DIR/daemon-socket/socket`. */
export function defaultSocketPath(stateDir: string, env: NodeJS.ProcessEnv): string {
  return env.NIX_DAEMON_SOCKET_PATH || join(stateDir, 'daemon-socket', 'socket');
}

/** True when `uri` names a worker-protocol store. */
export function isRemoteStoreUri(uri: string): boolean {
  return uri === 'daemon' || uri.startsWith('unix://') || uri.startsWith('ssh-ng://');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.=:,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Open a `RemoteStore` for `daemon`, `unix://PATH` or `ssh-ng://host?…`. */
export function openRemoteStore(uri: string, e: RemoteEnv): RemoteStore {
  const base = { storeDir: e.storeDir, ...(e.logger ? { logger: e.logger } : {}) };
  const q = uri.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? uri.slice(q + 1) : '');
  const main = q >= 0 ? uri.slice(0, q) : uri;
  if (main === 'daemon') return new RemoteStore({ ...base, connect: unixConnector(defaultSocketPath(e.stateDir, e.env)) });
  if (main.startsWith('unix://')) {
    const path = main.slice('unix://'.length);
    return new RemoteStore({ ...base, connect: unixConnector(path === '' ? defaultSocketPath(e.stateDir, e.env) : path) });
  }
  if (main.startsWith('ssh-ng://')) {
    const host = main.slice('ssh-ng://'.length);
    let cmd = `${params.get('remote-program') ?? 'nix-daemon'} --stdio`;
    const remoteStore = params.get('remote-store');
    if (remoteStore) cmd += ` --store ${shellQuote(remoteStore)}`;
    // As 2.8: host `localhost` runs the command locally without ssh.
    const full = host === 'localhost' ? cmd : `ssh ${shellQuote(host)} -x -a ${e.env.NIX_SSHOPTS ?? ''} ${shellQuote(cmd)}`;
    return new RemoteStore({ ...base, connect: commandConnector(full, e.env), sendOptions: false, maxConnections: Number(params.get('max-connections') ?? 1) });
  }
  throw new NixError(ProtocolErrorCode.E_PROTOCOL_CONNECT, `don't know how to open Nix store '${uri}'`);
}

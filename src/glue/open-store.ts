/**
 * Store selection (libstore/store-api.cc `openStore`): `--store` / the
 * `store` setting, else `NIX_REMOTE`, else `auto`. For now every choice that
 * names a local store opens `LocalStore`; the protocol team adds `daemon` and
 * `unix://…`, the build team wraps the result with build operations.
 *
 * Accepted: '' / `auto` / `local` / `local?root=DIR` / an absolute path (a
 * chroot store: logical `/nix/store`, real files under DIR — only when DIR is
 * `/`, otherwise refused until chroot stores exist).
 *
 * Start-up: protocol, build and the recursive-nix server are imported on
 * first use, so commands that only read a local store (or never open one)
 * do not load them.
 */
import { join } from 'node:path';
import { NixError, CoreErrorCode, type NixDirs, type Settings } from '../core/index.js';
import { LocalStore, type Store } from '../store/index.js';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import type { RecursiveHook } from '../build/index.js';
import type { RecursiveHookOptions } from './recursive/index.js';

export interface OpenStoreOptions {
  settings: Settings;
  dirs: NixDirs;
  env: NodeJS.ProcessEnv;
  /** Override the URI (else `store` setting, else NIX_REMOTE). */
  uri?: string;
  readOnly?: boolean;
}

/** The store URI in effect. */
export function storeUri(opts: OpenStoreOptions): string {
  return opts.uri ?? opts.settings.getRaw('store') ?? opts.env.NIX_REMOTE ?? 'auto';
}

export function openLocalStore(opts: OpenStoreOptions): LocalStore {
  const uri = storeUri(opts);
  const { base, params } = splitUri(uri);
  if (base !== '' && base !== 'auto' && base !== 'local') {
    throw new NixError(CoreErrorCode.E_USAGE, `don't know how to open Nix store '${uri}'`);
  }
  const root = params.get('root');
  const storeDir = params.get('store') ?? opts.dirs.storeDir;
  const stateDir = params.get('state') ?? (root ? join(root, 'nix/var/nix') : opts.dirs.stateDir);
  if (root !== undefined && root !== '/') {
    throw new NixError(CoreErrorCode.E_NOT_IMPLEMENTED, `chroot stores ('${uri}') are not implemented yet`);
  }
  return LocalStore.open({ storeDir, stateDir, settings: opts.settings, readOnly: opts.readOnly });
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const uri = storeUri(opts);
  if (!isPlainLocalUri(uri) || (uri === 'auto' && !stateDirWritable(opts))) {
    const { defaultSocketPath, isRemoteStoreUri, openRemoteStore } = await import('../protocol/index.js');
    if (isRemoteStoreUri(uri) || (uri === 'auto' && existsSync(defaultSocketPath(opts.dirs.stateDir, opts.env)))) {
      // Daemon / unix:// / ssh-ng:// stores (protocol team).
      const remote: Store = openRemoteStore(uri === 'auto' ? 'daemon' : uri, { storeDir: opts.dirs.storeDir, stateDir: opts.dirs.stateDir, env: opts.env, settings: opts.settings });
      if (!uri.startsWith('ssh-ng://')) await withLocalLogs(remote, opts.dirs.logDir);
      return remote;
    }
  }
  // A local store builds (build team): nix-store -r, nix-build and the daemon's build ops.
  const local = openLocalStore(opts);
  const { withBuildOps } = await import('../build/index.js');
  return withBuildOps(local, {
    settings: opts.settings,
    logDir: opts.dirs.logDir,
    env: opts.env,
    // Builds requiring `recursive-nix` get their per-build socket (issue 8).
    recursiveHook: makeRecursiveHook({ logDir: opts.dirs.logDir }),
  });
}

/**
 * A daemon on this machine writes build logs where we can read them: as 2.8's
 * `UDSRemoteStore` is a `LocalFSStore`, its `getBuildLog` reads `NIX_LOG_DIR`
 * (an output path's log is its deriver's).
 */
async function withLocalLogs(store: Store, logDir: string): Promise<void> {
  const { readBuildLog } = await import('../build/index.js');
  store.getBuildLog = async (path) => {
    let drv = path;
    if (!path.isDerivation()) {
      const deriver = (await store.queryPathInfo(path))?.deriver;
      if (deriver === undefined) return undefined;
      drv = deriver;
    }
    return readBuildLog(logDir, drv);
  };
}

/**
 * The recursive-nix hook (glue/recursive), its server module loaded when the
 * first build that requires `recursive-nix` starts.
 */
export function makeRecursiveHook(opts: RecursiveHookOptions = {}): RecursiveHook {
  return { start: async (ctx) => (await import('./recursive/index.js')).startRecursiveServer(ctx, opts) };
}

/** URIs that can only mean the local store (no protocol module needed to tell). */
function isPlainLocalUri(uri: string): boolean {
  const { base } = splitUri(uri);
  return base === '' || base === 'auto' || base === 'local';
}

/** `auto` (2.8 store-api.cc): local if the state dir is writable, else the daemon if its socket exists. */
function stateDirWritable(opts: OpenStoreOptions): boolean {
  try {
    accessSync(opts.dirs.stateDir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function splitUri(uri: string): { base: string; params: Map<string, string> } {
  const q = uri.indexOf('?');
  const base = q < 0 ? uri : uri.slice(0, q);
  const params = new Map<string, string>();
  if (q >= 0) {
    for (const kv of uri.slice(q + 1).split('&')) {
      const eq = kv.indexOf('=');
      if (eq > 0) params.set(decodeURIComponent(kv.slice(0, eq)), decodeURIComponent(kv.slice(eq + 1)));
    }
  }
  return { base, params };
}

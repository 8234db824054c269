/**
 * A local store with build operations (Nix's `LocalStore` being a `Store` that
 * can build): `buildPaths`, `buildPathsWithResults`, `ensurePath`,
 * `queryMissing`, `buildDerivation`, `addBuildLog`, `getBuildLog`. The daemon
 * serves these ops from it; `glue/open-store.ts` wraps every local store.
 *
 * Each build call gets its own `Worker` (as in Nix): failures and cancellation
 * stay within that call, while output path locks keep concurrent calls (and
 * other processes) from building the same output twice. Every other property
 * is forwarded to the wrapped store, with `this` bound to it.
 */
import { NixError, nullLogger, type Logger, type Settings } from '../core/index.js';
import type { StorePath } from '../formats/index.js';
import type { BuildMode, BuildResult, DerivedPath, KeyedBuildResult, MissingInfo, Store } from '../store/index.js';
import { readBuildLog, writeBuildLog } from './build-log.js';
import { BuildErrorCode } from './errors.js';
import type { RecursiveHook, SandboxProvider } from './hooks.js';
import { queryMissing } from './missing.js';
import { isLocalBuildStore, type LocalBuildStore } from './output-registration.js';
import { Worker } from './worker.js';

export interface BuildingStoreOptions {
  settings: Settings;
  /** NIX_LOG_DIR. */
  logDir: string;
  /** Logger for build activity; a function is asked afresh for every call (per-connection loggers). */
  logger?: Logger | (() => Logger);
  env?: NodeJS.ProcessEnv;
  verboseBuild?: boolean;
  recursiveHook?: RecursiveHook;
  sandboxProvider?: SandboxProvider;
  logError?: (e: NixError) => void;
}

/** The build operations, given a local store. */
export class BuildOps {
  constructor(readonly store: LocalBuildStore, readonly opts: BuildingStoreOptions) {}

  makeWorker(overrides: Partial<BuildingStoreOptions> = {}): Worker {
    const o = { ...this.opts, ...overrides };
    const logger = typeof o.logger === 'function' ? o.logger() : (o.logger ?? nullLogger);
    return new Worker(this.store, {
      settings: o.settings,
      logger,
      logDir: o.logDir,
      env: o.env,
      verboseBuild: o.verboseBuild,
      recursiveHook: o.recursiveHook,
      sandboxProvider: o.sandboxProvider,
      logError: o.logError,
    });
  }

  buildPaths(paths: DerivedPath[], mode: BuildMode = 'normal'): Promise<void> {
    return this.makeWorker().buildPaths(paths, mode);
  }

  buildPathsWithResults(paths: DerivedPath[], mode: BuildMode = 'normal'): Promise<KeyedBuildResult[]> {
    return this.makeWorker().buildPathsWithResults(paths, mode);
  }

  async ensurePath(path: StorePath): Promise<void> {
    if (await this.store.isValidPath(path)) return;
    throw new NixError(BuildErrorCode.E_NO_SUBSTITUTER, `path '${this.store.storeDir.print(path)}' does not exist and cannot be created`);
  }

  queryMissing(paths: DerivedPath[]): Promise<MissingInfo> {
    return queryMissing(this.store, paths);
  }

  /** BuildDerivation: the drv must be in the store (inline derivations are built from their stored text). */
  async buildDerivation(drvPath: StorePath, _drv: unknown, mode: BuildMode = 'normal'): Promise<BuildResult> {
    const [r] = await this.buildPathsWithResults([{ kind: 'built', drvPath, outputs: 'all' }], mode);
    const { path: _p, ...rest } = r!;
    return rest;
  }

  async addBuildLog(drvPath: StorePath, log: Uint8Array): Promise<void> {
    writeBuildLog(this.opts.logDir, drvPath, log, this.opts.settings.getBool('compress-build-log', true));
  }

  /** The log of a drv, or of the deriver of an output path. */
  async getBuildLog(path: StorePath): Promise<Uint8Array | undefined> {
    let drvPath = path;
    if (!path.isDerivation()) {
      const info = await this.store.queryPathInfo(path);
      if (info?.deriver === undefined) return undefined;
      drvPath = info.deriver;
    }
    return readBuildLog(this.opts.logDir, drvPath);
  }
}

const BUILD_OPS = new Set(['buildPaths', 'buildPathsWithResults', 'ensurePath', 'queryMissing', 'buildDerivation', 'addBuildLog', 'getBuildLog']);

/** Wrap a local store so it can build. Non-local stores are returned unchanged. */
export function withBuildOps<S extends Store>(store: S, opts: BuildingStoreOptions): S {
  if (!isLocalBuildStore(store)) return store;
  const ops = new BuildOps(store, opts);
  return new Proxy(store, {
    get(target, prop, _receiver) {
      if (typeof prop === 'string' && BUILD_OPS.has(prop)) {
        const f = (ops as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!;
        return f.bind(ops);
      }
      if (prop === 'buildOps') return ops;
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The `BuildOps` behind a wrapped store, if any (for CLIs that need a Worker of their own). */
export function buildOpsOf(store: Store): BuildOps | undefined {
  return (store as unknown as { buildOps?: BuildOps }).buildOps;
}

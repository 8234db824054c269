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
import type { BuildDrv, DrvOutput } from './derivation.js';
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
  /**
   * Asked afresh for every build call: when the signal aborts, that call's
   * builds are cancelled (the daemon's client hung up).
   */
  cancel?: () => AbortSignal | undefined;
}

/** The build operations, given a local store. */
export class BuildOps {
  constructor(readonly store: LocalBuildStore, readonly opts: BuildingStoreOptions) {}

  makeWorker(overrides: Partial<BuildingStoreOptions> = {}): Worker {
    const o = { ...this.opts, ...overrides };
    const logger = typeof o.logger === 'function' ? o.logger() : (o.logger ?? nullLogger);
    const worker = new Worker(this.store, {
      settings: o.settings,
      logger,
      logDir: o.logDir,
      env: o.env,
      verboseBuild: o.verboseBuild,
      recursiveHook: o.recursiveHook,
      sandboxProvider: o.sandboxProvider,
      logError: o.logError,
    });
    const signal = o.cancel?.();
    if (signal?.aborted) worker.stopping.abort();
    else signal?.addEventListener('abort', () => worker.stopping.abort(), { once: true });
    return worker;
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

  /**
   * BuildDerivation: build a derivation given inline (its inputs must be valid
   * already; the `.drv` need not be in the store), or the stored one.
   */
  async buildDerivation(drvPath: StorePath, drv: unknown, mode: BuildMode = 'normal'): Promise<BuildResult> {
    const worker = this.makeWorker();
    const inline = toBuildDrv(this.store, drvPath, drv);
    if (inline !== undefined) worker.injectDerivation(inline);
    const r = inline !== undefined
      ? await worker.buildInline(drvPath, mode)
      : (await worker.buildPathsWithResults([{ kind: 'built', drvPath, outputs: 'all' }], mode))[0]!;
    const { path: _p, ...rest } = r as KeyedBuildResult;
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

interface WireDrv {
  outputs: Map<string, { path?: StorePath; hashAlgo: string; hash: string }>;
  inputSrcs: StorePath[];
  platform: string;
  builder: string;
  args: string[];
  env: Map<string, string>;
}

/** The protocol's `BasicDerivation` (or our own `BuildDrv`) as a `BuildDrv`. */
function toBuildDrv(store: Store, drvPath: StorePath, drv: unknown): BuildDrv | undefined {
  const d = drv as Partial<WireDrv> | undefined;
  if (!d || !(d.outputs instanceof Map) || !Array.isArray(d.inputSrcs) || !(d.env instanceof Map)) return undefined;
  const sd = store.storeDir;
  const print = (p: StorePath | string): string => (typeof p === 'string' ? p : sd.print(p));
  const outputs = new Map<string, DrvOutput>();
  for (const [n, o] of d.outputs) outputs.set(n, { path: o.path === undefined ? undefined : print(o.path), hashAlgo: o.hashAlgo, hash: o.hash });
  return {
    drvPath,
    name: drvPath.name.slice(0, -'.drv'.length),
    outputs,
    inputDrvs: new Map(),
    inputSrcs: d.inputSrcs.map(print),
    platform: d.platform ?? '',
    builder: d.builder ?? '',
    args: d.args ?? [],
    env: d.env,
  };
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

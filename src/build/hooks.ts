/**
 * The seams other teams plug into the builder (Nix 2.8
 * `LocalDerivationGoal::startBuilder`, `startDaemon`/`stopDaemon`,
 * `addDependency`). The derivation goal runs each build through these steps:
 *
 *   1. create the fresh build dir (host path `buildDir`);
 *   2. sandbox = true|relaxed → `SandboxProvider.createSandbox(…)`; otherwise
 *      the builder is spawned directly (`directSandbox`). The sandbox decides
 *      where the build dir appears to the builder (`buildDirInSandbox`, `/build`
 *      in Nix) — the environment is computed *after* this, from that path;
 *   3. drv requires `recursive-nix` → `RecursiveHook.start(…)`; the hook gets
 *      a `RecursiveBuildContext` (input closure, a way to build more paths on the
 *      SAME scheduler, a way to inject paths into the sandbox) and returns env
 *      additions (`NIX_REMOTE`) plus the set of paths it added;
 *   4. `sandbox.spawn({builder, args, env})`, wait for exit (timeouts, log);
 *   5. `server.stop()` (after the builder exited, before outputs are scanned),
 *      then `sandbox.destroy()`;
 *   6. outputs are read from `sandbox.outputLocation(path)` (default: the path
 *      itself in the real store) and scanned with `inputClosure ∪ outputs ∪
 *      server.addedPaths()` as candidates.
 *
 * Both hooks are optional fields of `WorkerOptions`. `build/` never imports
 * `protocol/`, so `glue/recursive` fills `recursiveHook`. The sandbox module
 * (`build/sandbox/index.ts`) is loaded lazily when first needed: it must export
 * `sandboxProvider: SandboxProvider` (see `loadSandboxProvider`).
 */
import type { Settings } from '../core/index.js';
import type { StorePath } from '../formats/index.js';
import type { DerivedPath, KeyedBuildResult, Store } from '../store/index.js';

/** Everything a sandbox needs to know to set up one build. */
export interface SandboxOptions {
  /** Full path of the derivation. */
  drvPath: string;
  /** Full store dir, e.g. `/nix/store`. */
  storeDir: string;
  /** Host path of the (already created, empty) build directory. */
  buildDir: string;
  /** Full paths of the input closure (inputSrcs + needed input outputs, closed under references). */
  inputClosure: ReadonlySet<string>;
  /** Output name → full path the builder will write (scratch paths under `--check`). */
  outputs: ReadonlyMap<string, string>;
  /** True for fixed-output derivations (they get the host network). */
  network: boolean;
  /** `sandbox = relaxed` and the drv has `__noChroot`. */
  noChroot: boolean;
  /** `sandbox-paths` and `extra-sandbox-paths`, already split. */
  settings: Settings;
  /** The derivation's `requiredSystemFeatures`. */
  requiredSystemFeatures: readonly string[];
  /**
   * Closure (full paths) of a store path named in `sandbox-paths`, which 2.8
   * binds into the sandbox with the path (`computeFSClosure`); undefined when
   * it is not a valid path (2.8 ignores `InvalidPath` there). These paths are
   * visible to the builder but are not inputs (not reference candidates).
   */
  closureOf?(storePath: string): Promise<ReadonlySet<string> | undefined>;
}

/** How to start the builder inside a sandbox (or directly). */
export interface SpawnRequest {
  builder: string;
  args: readonly string[];
  /** The complete environment (nothing is inherited). */
  env: Readonly<Record<string, string>>;
  /** Working directory as the builder sees it (= `buildDirInSandbox`). */
  cwd: string;
}

/** A started builder. Its stdout and stderr are one stream, as in Nix (one log pipe). */
export interface BuilderProcess {
  readonly pid: number;
  /** Combined stdout+stderr bytes of the builder. Ends when every writer closed it. */
  readonly output: NodeJS.ReadableStream;
  /** Resolves once the builder exited; status as from `waitpid`. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kill the builder and everything it started (process group / namespace). */
  kill(): void;
}

export interface Sandbox {
  /** Where `buildDir` appears inside the sandbox (`/build` for Nix's sandbox; the host path when unsandboxed). */
  readonly buildDirInSandbox: string;
  spawn(req: SpawnRequest): Promise<BuilderProcess>;
  /** Make a valid store path appear live inside the running sandbox (recursive Nix). */
  addPath(path: string): Promise<void>;
  /** Host location of what the builder wrote at output `path` (default: `path`). */
  outputLocation?(path: string): string;
  /** Kill anything left and tear the sandbox down. Idempotent. */
  destroy(): Promise<void>;
}

export interface SandboxProvider {
  createSandbox(opts: SandboxOptions): Promise<Sandbox>;
}

/** What the recursive-nix hook sees of the running build. */
export interface RecursiveBuildContext {
  drvPath: StorePath;
  /** The store the outer build uses (the real local store). */
  store: Store;
  storeDir: string;
  buildDir: string;
  buildDirInSandbox: string;
  /** Input closure as store paths (the initial allowed set). */
  inputClosure: readonly StorePath[];
  /** True when a sandbox runs the builder (paths must then be injected with `addPath`). */
  sandboxed: boolean;
  /** Make a path visible to the running builder; a no-op unsandboxed. */
  addPath(path: StorePath): Promise<void>;
  /**
   * Build on the same scheduler as the outer build: goals, output locks and
   * job slots are shared. While calls are pending the outer build lends its own
   * job slot, so inner builds cannot deadlock on `max-jobs`.
   */
  buildPaths(paths: DerivedPath[]): Promise<KeyedBuildResult[]>;
  /** Append a line to the outer build's log. */
  appendLog(line: string): void;
  settings: Settings;
}

/** A running per-build server, torn down after the builder exits. */
export interface RecursiveServer {
  /** Added to the builder env after the derivation env (so it overrides a drv `NIX_REMOTE`). */
  readonly env: Readonly<Record<string, string>>;
  /** Paths added through the server; candidates for the output reference scan. */
  addedPaths(): Iterable<StorePath>;
  /** Stop accepting, wait for/close client connections. */
  stop(): Promise<void>;
}

export interface RecursiveHook {
  start(ctx: RecursiveBuildContext): Promise<RecursiveServer>;
}

/** Module path of the sandbox implementation, relative to this file. */
const SANDBOX_MODULE = './sandbox/index.js';

let cachedProvider: Promise<SandboxProvider | undefined> | undefined;

/** Load `build/sandbox/index.js` (`export const sandboxProvider`), if present. */
export function loadSandboxProvider(): Promise<SandboxProvider | undefined> {
  cachedProvider ??= (async () => {
    try {
      const spec = new URL(SANDBOX_MODULE, import.meta.url).href;
      const mod = (await import(spec)) as { sandboxProvider?: SandboxProvider };
      return mod.sandboxProvider;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
      throw e;
    }
  })();
  return cachedProvider;
}

/**
 * The sandbox seam of the builder (`build/hooks.ts`), restated structurally so
 * this module compiles on its own; `sandboxProvider` is checked against the
 * builder's declaration wherever the builder imports it.
 */
import type { Settings } from '../../core/index.js';

export interface SandboxOptions {
  /** Full path of the derivation (names the chroot dir, as Nix's `<drv>.chroot`). */
  drvPath: string;
  /** Full store dir as the builder sees it, e.g. `/nix/store`. */
  storeDir: string;
  /** Host path of the (already created) build directory. */
  buildDir: string;
  /** Full paths of the input closure. */
  inputClosure: ReadonlySet<string>;
  /** Output name → full path the builder will write. */
  outputs: ReadonlyMap<string, string>;
  /** True for fixed-output derivations: they keep the host network. */
  network: boolean;
  /** The drv has `__noChroot` (only honoured with `sandbox = relaxed`). */
  noChroot: boolean;
  settings: Settings;
  requiredSystemFeatures: readonly string[];
}

export interface SpawnRequest {
  builder: string;
  args: readonly string[];
  /** The complete environment (nothing is inherited). */
  env: Readonly<Record<string, string>>;
  /** Working directory as the builder sees it. */
  cwd: string;
}

export interface BuilderProcess {
  readonly pid: number;
  /** Combined stdout+stderr of the builder. */
  readonly output: NodeJS.ReadableStream;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kill the builder and every process it started. */
  kill(): void;
}

export interface Sandbox {
  readonly buildDirInSandbox: string;
  spawn(req: SpawnRequest): Promise<BuilderProcess>;
  /** Make a valid store path appear live, read-only, inside the running builder. */
  addPath(path: string): Promise<void>;
  /** Host location of what the builder wrote at output `path`. */
  outputLocation?(path: string): string;
  /** Kill anything left and tear the sandbox down. Idempotent. */
  destroy(): Promise<void>;
}

export interface SandboxProvider {
  createSandbox(opts: SandboxOptions): Promise<Sandbox>;
}

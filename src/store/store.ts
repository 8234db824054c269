/**
 * The `Store` interface (libstore/store-api.hh), named after the worker
 * protocol's operations. `LocalStore`, the daemon client (`RemoteStore`) and
 * the recursive-nix `RestrictedStore` all implement it; the daemon server
 * serves any implementation of it.
 *
 * Ownership: the store team owns this file. Other layers may rely on it;
 * changes are additive (new optional members), never silent signature changes.
 *
 * Build operations are optional here because `store/` cannot import `build/`:
 * `build/` wraps a store and supplies them.
 */
import type { Hash, HashType, StorePath, StoreDir } from '../formats/index.js';

/** A NAR or flat-file byte stream. */
export type ByteSource = AsyncIterable<Uint8Array>;

export interface ValidPathInfo {
  path: StorePath;
  deriver?: StorePath;
  /** sha256 of the NAR serialisation. */
  narHash: Hash;
  /** Sorted by base name; may include `path` itself (self-reference). */
  references: StorePath[];
  /** Unix seconds; 0 means "now" when adding. */
  registrationTime: number;
  narSize: number;
  /** Built locally / from a trusted origin. */
  ultimate: boolean;
  sigs: string[];
  /** Content-address string (`text:sha256:…`, `fixed:r:sha256:…`), if any. */
  ca?: string;
}

/** One `addTextToStore` of a batch (`addTextsToStore`). */
export interface TextToAdd {
  name: string;
  text: Uint8Array;
  references: StorePath[];
}

export type FileIngestionMethod = 'flat' | 'recursive';
/** `text` is for `addTextToStore`-style objects; the others are fixed outputs. */
export type ContentAddressMethod = 'text' | FileIngestionMethod;

export interface AddToStoreOptions {
  name: string;
  method: ContentAddressMethod;
  hashAlgo: HashType;
  /** NAR for `recursive`; file contents for `flat` and `text`. */
  source: ByteSource;
  references?: StorePath[];
  repair?: boolean;
}

export interface AddToStoreNarOptions {
  repair?: boolean;
  /** Skip signature checks (trusted callers only). */
  dontCheckSigs?: boolean;
}

/** What to build (`DerivedPath`): an opaque path, or outputs of a derivation. */
export type DerivedPath =
  | { kind: 'opaque'; path: StorePath }
  | { kind: 'built'; drvPath: StorePath; outputs: string[] | 'all' };

export type BuildMode = 'normal' | 'repair' | 'check';

/** Nix's BuildResult::Status, with the wire numbers. */
export const BuildStatus = {
  Built: 0,
  Substituted: 1,
  AlreadyValid: 2,
  PermanentFailure: 3,
  InputRejected: 4,
  OutputRejected: 5,
  TransientFailure: 6,
  CachedFailure: 7,
  TimedOut: 8,
  MiscFailure: 9,
  DependencyFailed: 10,
  LogLimitExceeded: 11,
  NotDeterministic: 12,
  ResolvesToAlreadyValid: 13,
  NoSubstituters: 14,
} as const;
export type BuildStatusCode = (typeof BuildStatus)[keyof typeof BuildStatus];

export interface BuildResult {
  status: BuildStatusCode;
  errorMsg: string;
  timesBuilt: number;
  isNonDeterministic: boolean;
  startTime: number;
  stopTime: number;
  /** outputName → output path of what was built. */
  builtOutputs: Map<string, StorePath>;
}

export interface KeyedBuildResult extends BuildResult {
  path: DerivedPath;
}

export interface MissingInfo {
  willBuild: StorePath[];
  willSubstitute: StorePath[];
  unknown: StorePath[];
  downloadSize: number;
  narSize: number;
}

export type GCAction = 'returnLive' | 'returnDead' | 'deleteDead' | 'deleteSpecific';

export interface GCOptions {
  action: GCAction;
  pathsToDelete?: StorePath[];
  ignoreLiveness?: boolean;
  /** Stop after freeing this many bytes (default: unlimited). */
  maxFreed?: number;
}

export interface GCResults {
  /** Full paths: deleted, live or dead depending on the action. */
  paths: string[];
  bytesFreed: number;
}

/** Root link (e.g. `/nix/var/nix/gcroots/auto/…`, `{temp:123}`) → targets. */
export type Roots = Map<StorePath, Set<string>>;

export interface Store {
  readonly storeDir: StoreDir;

  isValidPath(path: StorePath): Promise<boolean>;
  queryValidPaths(paths: StorePath[], opts?: { substitute?: boolean }): Promise<StorePath[]>;
  queryAllValidPaths(): Promise<StorePath[]>;
  /** Undefined when the path is not valid (not an error, as in protocol ≥1.17). */
  queryPathInfo(path: StorePath): Promise<ValidPathInfo | undefined>;
  queryReferrers(path: StorePath): Promise<StorePath[]>;
  queryValidDerivers(path: StorePath): Promise<StorePath[]>;
  /** outputName → output path (undefined for unknown CA outputs). */
  queryDerivationOutputMap(drvPath: StorePath): Promise<Map<string, StorePath | undefined>>;
  queryPathFromHashPart(hashPart: string): Promise<StorePath | undefined>;

  addToStore(opts: AddToStoreOptions): Promise<ValidPathInfo>;
  addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath>;
  /**
   * `addTextToStore` for each item, in order, with the same result and the
   * same guarantees per path; a reference may name an earlier item. Lets a
   * store register several paths per transaction (an evaluation's deferred
   * writes). Stores without it get one `addTextToStore` per item.
   */
  addTextsToStore?(items: readonly TextToAdd[]): Promise<StorePath[]>;
  addToStoreNar(info: ValidPathInfo, nar: ByteSource, opts?: AddToStoreNarOptions): Promise<void>;
  /**
   * `addToStoreNar` of a NAR held whole in memory, done synchronously where
   * the store can (a local store: one small regular file whose temp root and
   * path lock are to be had without waiting): true when the path is added
   * (or was valid already). False, having changed nothing but perhaps
   * rooting the path, when it must take the general way; it may also throw
   * what `addToStoreNar` would. Either way `addToStoreNar` with the same
   * arguments is then the answer. `nar` is not kept.
   */
  addToStoreNarSync?(info: ValidPathInfo, nar: Uint8Array, opts?: AddToStoreNarOptions): boolean;
  narFromPath(path: StorePath): ByteSource;

  addTempRoot(path: StorePath): Promise<void>;
  /** `path` is an absolute symlink that the caller has already created. */
  addIndirectRoot(path: string): Promise<void>;
  findRoots(censor: boolean): Promise<Roots>;
  collectGarbage(opts: GCOptions): Promise<GCResults>;
  /** Returns true when errors were found (and not all repaired). */
  verifyStore(checkContents: boolean, repair: boolean): Promise<boolean>;
  addSignatures?(path: StorePath, sigs: string[]): Promise<void>;
  /**
   * Add a file-system path (the local fast path of `nix-store --add`,
   * `builtins.path`): `recursive` = NAR of the tree, `flat` = file contents.
   * Stores without it get `addToStore` with a `dumpPath` stream instead.
   */
  addPathToStore?(opts: {
    name: string; fsPath: string; method: FileIngestionMethod; hashAlgo: HashType; repair?: boolean;
    /** Flat only: keep the executable bit (Nix's `addToStoreSlow`: `--add-fixed`, `nix store add-file`). */
    preserveExecutable?: boolean;
  }): Promise<ValidPathInfo>;
  /**
   * `addPermRoot`: atomically make `gcRoot` a symlink to `path` and register
   * it as an indirect root (`nix-build -o`, `--add-root`). Returns the
   * absolute root path.
   */
  addPermRoot?(path: StorePath, gcRoot: string): Promise<string>;
  optimiseStore?(): Promise<void>;

  /** Closure of `paths` (references, or referrers when `flipDirection`), as full printed paths, start paths included. */
  computeFSClosure(
    paths: StorePath[],
    opts?: { flipDirection?: boolean; includeOutputs?: boolean; includeDerivers?: boolean },
  ): Promise<Set<string>>;

  // Build operations: supplied by `build/` (local) or the daemon (remote).
  buildPaths?(paths: DerivedPath[], mode?: BuildMode): Promise<void>;
  buildPathsWithResults?(paths: DerivedPath[], mode?: BuildMode): Promise<KeyedBuildResult[]>;
  ensurePath?(path: StorePath): Promise<void>;
  queryMissing?(paths: DerivedPath[]): Promise<MissingInfo>;
  /** Build a single derivation given inline (BuildDerivation op). */
  buildDerivation?(drvPath: StorePath, drv: unknown, mode?: BuildMode): Promise<BuildResult>;
  addBuildLog?(drvPath: StorePath, log: Uint8Array): Promise<void>;
  /** Stored build log of a derivation, if any. */
  getBuildLog?(drvPath: StorePath): Promise<Uint8Array | undefined>;

  close?(): Promise<void>;
}

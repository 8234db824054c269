/**
 * `RestrictedStore` (Nix 2.8 `local-derivation-goal.cc`): the `Store` a
 * recursive build's socket serves. It forwards to the host store, but shows
 * only the build's allowed set, censors path info, turns GC and root ops into
 * no-ops, and adds whatever the builder adds or builds to the allowed set.
 * Errors use 2.8's texts (spec recursive-nix.md §3.3, Appendix A).
 *
 * Beyond upstream (issue 8 §6, spec §9): reads (`narFromPath`, closures) go
 * through the allowed set; claimed references on every add must be allowed; an
 * add of an already-valid path must carry its real contents; inner builds pass
 * the `RecursivePolicy` first; every call is recorded in the `RecursiveCallLog`.
 */
import { NixError } from '../../core/index.js';
import { HashSink, type StorePath, type StoreDir } from '../../formats/index.js';
import type {
  AddToStoreNarOptions, AddToStoreOptions, BuildMode, BuildResult, ByteSource, DerivedPath, GCOptions, GCResults,
  KeyedBuildResult, MissingInfo, Roots, Store, ValidPathInfo,
} from '../../store/index.js';
import { AllowedSet } from './allowed-set.js';
import { RecursiveCallLog } from './call-log.js';
import { RecursiveErrorCode } from './errors.js';
import { msg, printDerivedPath } from './messages.js';
import { RecursivePolicy } from './policy.js';

/**
 * Runs inner builds on the outer scheduler (the build layer's
 * `RecursiveBuildContext.buildPaths`: shared goals, locks and job slots).
 */
export type InnerBuilder = (paths: DerivedPath[]) => Promise<KeyedBuildResult[]>;

export interface RestrictedStoreOptions {
  /** The host store (the one running the outer build). */
  next: Store;
  allowed: AllowedSet;
  policy: RecursivePolicy;
  calls?: RecursiveCallLog;
  /** Runs inner builds; defaults to `next.buildPathsWithResults`. */
  builder?: InnerBuilder;
  /** Called with the drvs an inner request may build; returns a release (deadlock registry). */
  onWait?: (drvs: StorePath[]) => () => void;
  /** Name shown in "not supported by store" errors (2.8: `local`). */
  storeName?: string;
}

function censor(info: ValidPathInfo): ValidPathInfo {
  const out: ValidPathInfo = { ...info, registrationTime: 0, ultimate: false, sigs: [] };
  delete out.deriver;
  return out;
}

export class RestrictedStore implements Store {
  readonly storeDir: StoreDir;
  private readonly next: Store;
  private readonly allowed: AllowedSet;
  readonly calls: RecursiveCallLog;

  constructor(private readonly opts: RestrictedStoreOptions) {
    this.next = opts.next;
    this.storeDir = opts.next.storeDir;
    this.allowed = opts.allowed;
    this.calls = opts.calls ?? new RecursiveCallLog();
  }

  private print(p: StorePath): string {
    return this.storeDir.print(p);
  }

  /** Runs `fn`, recording op/path/result; denials are NixErrors of the restriction codes. */
  private async logged<T>(op: string, path: string, fn: () => Promise<T>, detail?: (r: T) => string | undefined): Promise<T> {
    try {
      const r = await fn();
      this.calls.record(op, path, 'ok', detail?.(r));
      return r;
    } catch (e) {
      this.calls.record(op, path, isDenial(e) ? 'denied' : 'error', e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  private deny(code: string, text: string): never {
    throw new NixError(code, text);
  }

  private unsupported(op: string): never {
    this.deny(RecursiveErrorCode.E_OP_UNSUPPORTED, msg.unsupported(op, this.opts.storeName ?? 'local'));
  }

  // ---- queries: only the allowed set is visible ----

  async isValidPath(path: StorePath): Promise<boolean> {
    return this.logged('isValidPath', this.print(path), async () => this.allowed.isAllowed(path) && (await this.next.isValidPath(path)), String);
  }

  async queryValidPaths(paths: StorePath[], _opts?: { substitute?: boolean }): Promise<StorePath[]> {
    // `substitute` is ignored: nothing is ever substituted on behalf of the builder (2.8 filters it too).
    const out: StorePath[] = [];
    for (const p of paths) if (this.allowed.isAllowed(p) && (await this.next.isValidPath(p))) out.push(p);
    this.calls.record('queryValidPaths', '', 'ok', `${out.length}/${paths.length}`);
    return out;
  }

  async queryAllValidPaths(): Promise<StorePath[]> {
    this.calls.record('queryAllValidPaths', '', 'ok');
    return this.allowed.all();
  }

  async queryPathInfo(path: StorePath): Promise<ValidPathInfo | undefined> {
    return this.logged('queryPathInfo', this.print(path), async () => {
      if (!this.allowed.isAllowed(path)) return undefined;
      const info = await this.next.queryPathInfo(path);
      return info === undefined ? undefined : censor(info);
    }, (r) => (r === undefined ? 'not valid' : undefined));
  }

  async queryReferrers(_path: StorePath): Promise<StorePath[]> {
    return [];
  }

  async queryValidDerivers(_path: StorePath): Promise<StorePath[]> {
    return [];
  }

  async queryDerivationOutputMap(drvPath: StorePath): Promise<Map<string, StorePath | undefined>> {
    return this.logged('queryDerivationOutputMap', this.print(drvPath), async () => {
      if (!this.allowed.isAllowed(drvPath)) this.deny(RecursiveErrorCode.E_PATH_UNKNOWN, msg.cannotQueryOutputMap(this.print(drvPath)));
      return this.next.queryDerivationOutputMap(drvPath);
    });
  }

  async queryPathFromHashPart(hashPart: string): Promise<StorePath | undefined> {
    return this.logged('queryPathFromHashPart', hashPart, async () => this.deny(RecursiveErrorCode.E_OP_REFUSED, 'queryPathFromHashPart'));
  }

  async computeFSClosure(
    paths: StorePath[],
    opts: { flipDirection?: boolean; includeOutputs?: boolean; includeDerivers?: boolean } = {},
  ): Promise<Set<string>> {
    const start = paths.filter((p) => this.allowed.isAllowed(p));
    // Referrers are hidden, so the reverse closure is just the allowed start paths.
    if (opts.flipDirection) return new Set(start.map((p) => this.print(p)));
    const closure = await this.next.computeFSClosure(start, { includeOutputs: false, includeDerivers: false });
    return new Set([...closure].filter((full) => this.allowedFull(full)));
  }

  private allowedFull(full: string): boolean {
    try {
      return this.allowed.isAllowed(this.storeDir.parse(full));
    } catch {
      return false;
    }
  }

  // ---- reads ----

  narFromPath(path: StorePath): ByteSource {
    const self = this;
    return (async function* () {
      if (!self.allowed.isAllowed(path)) {
        const text = msg.cannotDump(self.print(path));
        self.calls.record('narFromPath', self.print(path), 'denied', text);
        throw new NixError(RecursiveErrorCode.E_PATH_UNKNOWN, text);
      }
      self.calls.record('narFromPath', self.print(path), 'ok');
      yield* self.next.narFromPath(path);
    })();
  }

  // ---- adds: references must be allowed; the result joins the allowed set ----

  private checkReferences(name: string, refs: readonly StorePath[], self?: StorePath): void {
    for (const r of refs) {
      if (self !== undefined && r.equals(self)) continue;
      if (!this.allowed.isAllowed(r)) this.deny(RecursiveErrorCode.E_FORGED_REFERENCE, msg.forgedReference(name, this.print(r)));
    }
  }

  /** Temp-root the path on the host for the rest of the outer build, then make it visible. */
  private async addDependency(path: StorePath): Promise<void> {
    // Never allow before the host has the path (2.8 inserted first, then checked).
    if (!(await this.next.isValidPath(path))) this.deny(RecursiveErrorCode.E_PATH_UNKNOWN, `path '${this.print(path)}' is not valid`);
    await this.next.addTempRoot(path);
    await this.allowed.allow(path);
  }

  async addToStore(o: AddToStoreOptions): Promise<ValidPathInfo> {
    return this.logged('addToStore', o.name, async () => {
      this.checkReferences(o.name, o.references ?? []);
      const info = await this.next.addToStore({ ...o, repair: false });
      await this.addDependency(info.path);
      return censor(info);
    }, (r) => this.print(r.path));
  }

  async addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
    return this.logged('addTextToStore', name, async () => {
      this.checkReferences(name, references);
      const path = await this.next.addTextToStore(name, text, references);
      await this.addDependency(path);
      return path;
    }, (p) => this.print(p));
  }

  async addToStoreNar(info: ValidPathInfo, nar: ByteSource, opts: AddToStoreNarOptions = {}): Promise<void> {
    await this.logged('addToStoreNar', this.print(info.path), async () => {
      this.checkReferences(this.print(info.path), info.references, info.path);
      const untrusted: ValidPathInfo = { ...info, ultimate: false };
      if (!this.allowed.isAllowed(info.path) && (await this.next.isValidPath(info.path))) {
        await this.checkSameContents(info.path, nar);
      } else {
        // Untrusted: signatures are always checked; never repair through the socket.
        await this.next.addToStoreNar(untrusted, nar, { ...opts, repair: false, dontCheckSigs: false });
      }
      await this.addDependency(info.path);
    });
  }

  /**
   * A host store skips an add of an already-valid path, so without this check a
   * builder could "add" any valid path by name with made-up contents and then
   * read the real one. The NAR it sends must hash to the registered narHash.
   */
  private async checkSameContents(path: StorePath, nar: ByteSource): Promise<void> {
    const existing = await this.next.queryPathInfo(path);
    const sink = new HashSink('sha256');
    for await (const chunk of nar) sink.update(chunk);
    const got = sink.finish();
    if (existing === undefined || !existing.narHash.equals(got) || sink.bytes !== existing.narSize) {
      this.deny(RecursiveErrorCode.E_CONTENT_MISMATCH, msg.contentMismatch(this.print(path)));
    }
  }

  // ---- builds ----

  async ensurePath(path: StorePath): Promise<void> {
    await this.logged('ensurePath', this.print(path), async () => {
      // Never substitutes: a path the builder does not know cannot be fetched for it.
      if (!this.allowed.isAllowed(path)) this.deny(RecursiveErrorCode.E_PATH_UNKNOWN, msg.cannotSubstitute(this.print(path)));
    });
  }

  async buildPaths(paths: DerivedPath[], mode: BuildMode = 'normal'): Promise<void> {
    const results = await this.buildPathsWithResults(paths, mode);
    const failed = results.find((r) => r.status > 2 && r.status !== 13);
    if (failed !== undefined) {
      throw new NixError(RecursiveErrorCode.E_INNER_BUILD_FAILED, failed.errorMsg || `build of '${printDerivedPath(this.storeDir, failed.path)}' failed`, { exitCode: 100 });
    }
  }

  async buildPathsWithResults(paths: DerivedPath[], mode: BuildMode = 'normal'): Promise<KeyedBuildResult[]> {
    const what = paths.map((p) => printDerivedPath(this.storeDir, p)).join(' ');
    return this.logged('buildPaths', what, () => this.doBuild(paths, mode), (rs) => summarise(rs));
  }

  private async doBuild(paths: DerivedPath[], mode: BuildMode): Promise<KeyedBuildResult[]> {
    if (mode !== 'normal') this.deny(RecursiveErrorCode.E_BUILD_MODE, msg.unsupportedBuildMode());
    for (const p of paths) {
      const root = p.kind === 'opaque' ? p.path : p.drvPath;
      if (!this.allowed.isAllowed(root)) this.deny(RecursiveErrorCode.E_PATH_UNKNOWN, msg.cannotBuild(printDerivedPath(this.storeDir, p)));
    }
    const toBuild: StorePath[] = [];
    for (const p of paths) if (p.kind === 'built') toBuild.push(...(await this.opts.policy.checkBuild(p.drvPath)));
    const release = this.opts.onWait?.(toBuild);
    let results: KeyedBuildResult[];
    try {
      results = await this.runInnerBuild(paths);
    } finally {
      release?.();
    }
    await this.addBuiltOutputs(results);
    return results;
  }

  private async runInnerBuild(paths: DerivedPath[]): Promise<KeyedBuildResult[]> {
    if (this.opts.builder !== undefined) return this.opts.builder(paths);
    if (this.next.buildPathsWithResults === undefined) this.unsupported('buildPaths');
    return this.next.buildPathsWithResults(paths, 'normal');
  }

  /** The full closure of every output built (or already valid) joins the allowed set. */
  private async addBuiltOutputs(results: KeyedBuildResult[]): Promise<void> {
    const outs: StorePath[] = [];
    for (const r of results) {
      if (r.status > 2 && r.status !== 13) continue;
      if (r.path.kind === 'opaque') continue;
      const map = r.builtOutputs.size > 0 ? r.builtOutputs : await this.wantedOutputs(r.path);
      for (const p of map.values()) outs.push(p);
    }
    if (outs.length === 0) return;
    const closure = await this.next.computeFSClosure(outs);
    const paths = [...closure].map((full) => this.storeDir.parse(full));
    await Promise.all(paths.map((p) => this.next.addTempRoot(p)));
    await this.allowed.allowAll(paths);
  }

  private async wantedOutputs(p: Extract<DerivedPath, { kind: 'built' }>): Promise<Map<string, StorePath>> {
    const all = await this.next.queryDerivationOutputMap(p.drvPath);
    const out = new Map<string, StorePath>();
    for (const [name, path] of all) {
      if (path !== undefined && (p.outputs === 'all' || p.outputs.includes(name))) out.set(name, path);
    }
    return out;
  }

  async queryMissing(paths: DerivedPath[]): Promise<MissingInfo> {
    const allowed: DerivedPath[] = [];
    const unknown: StorePath[] = [];
    for (const p of paths) {
      const root = p.kind === 'opaque' ? p.path : p.drvPath;
      if (this.allowed.isAllowed(root)) allowed.push(p);
      else unknown.push(root);
    }
    const base: MissingInfo = allowed.length > 0 && this.next.queryMissing !== undefined
      ? await this.next.queryMissing(allowed)
      : { willBuild: [], willSubstitute: [], unknown: [], downloadSize: 0, narSize: 0 };
    this.calls.record('queryMissing', '', 'ok', `${unknown.length} unknown`);
    return { ...base, unknown: [...base.unknown, ...unknown] };
  }

  async buildDerivation(drvPath: StorePath, _drv?: unknown, _mode?: BuildMode): Promise<BuildResult> {
    return this.logged('buildDerivation', this.print(drvPath), async () => this.unsupported('buildDerivation'));
  }

  // ---- GC and roots: no-ops (the host temp-roots what the build adds) ----

  async addTempRoot(_path: StorePath): Promise<void> {}
  async addIndirectRoot(_path: string): Promise<void> {}
  async findRoots(_censor: boolean): Promise<Roots> {
    return new Map();
  }
  async collectGarbage(_opts: GCOptions): Promise<GCResults> {
    this.calls.record('collectGarbage', '', 'ok', 'no-op');
    return { paths: [], bytesFreed: 0 };
  }
  async verifyStore(_checkContents: boolean, _repair: boolean): Promise<boolean> {
    return false;
  }
  async optimiseStore(): Promise<void> {}

  async addSignatures(path: StorePath, _sigs?: string[]): Promise<void> {
    return this.logged('addSignatures', this.print(path), async () => this.unsupported('addSignatures'));
  }
  async addBuildLog(drvPath: StorePath, _log?: Uint8Array): Promise<void> {
    return this.logged('addBuildLog', this.print(drvPath), async () => this.unsupported('addBuildLog'));
  }
  async getBuildLog(_drvPath: StorePath): Promise<Uint8Array | undefined> {
    return undefined;
  }

  /** Closing a connection must never close the host store. */
  async close(): Promise<void> {}
}

const DENIAL_CODES: ReadonlySet<string> = new Set([
  RecursiveErrorCode.E_PATH_UNKNOWN, RecursiveErrorCode.E_OP_REFUSED, RecursiveErrorCode.E_OP_UNSUPPORTED,
  RecursiveErrorCode.E_BUILD_MODE, RecursiveErrorCode.E_FORGED_REFERENCE, RecursiveErrorCode.E_SYSTEM_MISMATCH,
  RecursiveErrorCode.E_FIXED_OUTPUT_REFUSED, RecursiveErrorCode.E_RECURSION_LIMIT, RecursiveErrorCode.E_CONTENT_MISMATCH,
  RecursiveErrorCode.E_BUILD_FINISHED,
]);

function isDenial(e: unknown): boolean {
  return e instanceof NixError && DENIAL_CODES.has(e.code);
}

function summarise(rs: KeyedBuildResult[]): string {
  return rs.map((r) => (r.status <= 2 || r.status === 13 ? 'built' : `failed: ${r.errorMsg.split('\n')[0]}`)).join(', ');
}

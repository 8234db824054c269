/**
 * `LocalStore` (libstore/local-store.cc): a Nix-compatible store on the local
 * file system, sharing its state dir, database and lock files with Nix 2.8.
 *
 * Layout (`NIX_STORE_DIR`, `NIX_STATE_DIR`): `<state>/db/{db.sqlite,schema,
 * big-lock,reserved}`, `gc.lock`, `gcroots/`, `profiles/`, `temproots/`.
 * Every add follows add-to-store.ts's temp-write → rename → register protocol.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NixError, Settings, compareUtf8 } from '../../core/index.js';
import {
  StoreDir, StorePath, type HashType, type ByteReader,
} from '../../formats/index.js';
import { dumpPath } from '../nar-fs.js';
import { StoreErrorCode } from '../errors.js';
import type {
  AddToStoreNarOptions, AddToStoreOptions, ByteSource, GCOptions, GCResults, Roots, Store, TextToAdd, ValidPathInfo,
} from '../store.js';
import { PathLockRun, PathLocks } from '../locks.js';
import { closeGcLockFd } from '../temp-root-append.js';
import { gcLockPath } from '../gc/temp-roots.js';
import { TempRoots } from '../gc/temp-roots.js';
import { StoreDb } from './db.js';
import { addTextToStore, addTextsBatch } from './add-texts.js';
import { drvOutputPaths, infoToRow, rowToInfo, sortPaths } from './path-info.js';
import {
  deletePath, newFilesOwnedRight, writeFileAtomic, makeTempPath, randomHashPart, moveIntoPlace, writeNewFile,
} from './add-to-store.js';
import { addPathToStore } from './add-path.js';
import { addToStore } from './add-stream.js';
import { initDirs } from './init-dirs.js';
import { addToStoreNar, addToStoreNarSync } from './add-nar.js';
import { computeClosure, requisitesInPrintOrder } from './closure.js';

export interface LocalStoreOptions {
  storeDir: string;
  stateDir: string;
  settings?: Settings;
  readOnly?: boolean;
}

export interface AddPathOptions {
  name: string;
  fsPath: string;
  method: 'flat' | 'recursive';
  hashAlgo: HashType;
  repair?: boolean;
  /**
   * Flat only: keep the file's executable bit, as Nix 2.8's `addToStoreSlow`
   * does (`nix-store --add-fixed`, `nix store add-file`); `builtins.path`
   * with `recursive = false` does not.
   */
  preserveExecutable?: boolean;
}

export class LocalStore implements Store {
  readonly storeDir: StoreDir;
  readonly stateDir: string;
  readonly settings: Settings;
  readonly db: StoreDb;
  readonly tempRoots: TempRoots;
  /**
   * fsync contents and the store dir before registering (`fsync-store-paths`,
   * the setting later Nix versions have; default false as in Nix 2.8, which
   * never fsyncs store paths). Kills at any point are safe either way; this
   * adds safety against power loss at ~1–10 ms per add on slow disks.
   */
  readonly fsync: boolean;
  /** Path locks of small adds, which hold them across synchronous work only (locks.ts `PathLockRun`). */
  private readonly lockRun = new PathLockRun();

  private constructor(opts: LocalStoreOptions, db: StoreDb) {
    this.storeDir = new StoreDir(opts.storeDir);
    this.stateDir = opts.stateDir;
    this.settings = opts.settings ?? new Settings();
    this.db = db;
    this.tempRoots = new TempRoots(this.stateDir);
    this.fsync = this.settings.getBool('fsync-store-paths', false);
  }

  /** Open the store, creating the store dir, state dir and database as Nix does. */
  static open(opts: LocalStoreOptions): LocalStore {
    const state = opts.stateDir;
    try {
      if (!opts.readOnly) initDirs(opts.storeDir, state);
    } catch (e) {
      throw new NixError(StoreErrorCode.E_DB, `creating the Nix store at '${opts.storeDir}': ${(e as Error).message}`, { cause: e });
    }
    const db = StoreDb.open(join(state, 'db'), { readOnly: opts.readOnly });
    return new LocalStore(opts, db);
  }

  async close(): Promise<void> {
    this.lockRun.releaseSync();
    await this.tempRoots.close();
    closeGcLockFd(gcLockPath(this.stateDir));
    this.db.close();
  }

  print(p: StorePath): string {
    return this.storeDir.print(p);
  }

  // ---- queries -------------------------------------------------------------

  async isValidPath(path: StorePath): Promise<boolean> {
    return this.db.isValid(this.print(path));
  }

  async queryValidPaths(paths: StorePath[]): Promise<StorePath[]> {
    return paths.filter((p) => this.db.isValid(this.print(p)));
  }

  async queryAllValidPaths(): Promise<StorePath[]> {
    return sortPaths(this.db.queryAllValidPaths().map((p) => this.storeDir.parse(p)));
  }

  queryPathInfoSync(path: StorePath): ValidPathInfo | undefined {
    const row = this.db.queryPathInfo(this.print(path));
    if (row === undefined) return undefined;
    return rowToInfo(this.storeDir, row, this.db.queryReferences(row.id));
  }

  async queryPathInfo(path: StorePath): Promise<ValidPathInfo | undefined> {
    return this.queryPathInfoSync(path);
  }

  async queryReferrers(path: StorePath): Promise<StorePath[]> {
    return sortPaths(this.db.queryReferrers(this.print(path)).map((p) => this.storeDir.parse(p)));
  }

  async queryValidDerivers(path: StorePath): Promise<StorePath[]> {
    return sortPaths(this.db.queryValidDerivers(this.print(path)).map((p) => this.storeDir.parse(p)));
  }

  async queryDerivationOutputMap(drvPath: StorePath): Promise<Map<string, StorePath | undefined>> {
    const id = this.db.pathId(this.print(drvPath));
    if (id === undefined) throw new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${this.print(drvPath)}' is not valid`);
    const m = new Map<string, StorePath | undefined>();
    for (const [name, p] of this.db.queryDerivationOutputs(id).sort((a, b) => compareUtf8(a[0], b[0]))) {
      m.set(name, this.storeDir.parse(p));
    }
    return m;
  }

  async queryPathFromHashPart(hashPart: string): Promise<StorePath | undefined> {
    if (hashPart.length !== 32) throw new NixError(StoreErrorCode.E_PATH_NOT_VALID, `invalid hash part '${hashPart}'`);
    const p = this.db.queryPathFromHashPart(`${this.storeDir.dir}/${hashPart}`);
    return p === undefined ? undefined : this.storeDir.parse(p);
  }

  computeFSClosureSync(
    paths: readonly StorePath[],
    opts: { flipDirection?: boolean; includeOutputs?: boolean; includeDerivers?: boolean; referencesOut?: Map<string, string[]> } = {},
  ): Set<string> {
    return computeClosure(this, paths, opts);
  }

  /**
   * The closure of `paths` in the order `nix-store -qR` prints it
   * (references before referrers; Nix's `topoSortPaths` reversed), as
   * printed paths.
   */
  queryRequisitesInPrintOrder(paths: readonly StorePath[]): string[] {
    return requisitesInPrintOrder(this, paths.map((p) => this.print(p)));
  }

  async computeFSClosure(
    paths: StorePath[],
    opts: { flipDirection?: boolean; includeOutputs?: boolean; includeDerivers?: boolean } = {},
  ): Promise<Set<string>> {
    return computeClosure(this, paths, opts);
  }

  // ---- adding --------------------------------------------------------------

  /**
   * Register already-present contents (`registerValidPaths`): one transaction.
   * Each reference must be valid or among `infos`.
   */
  registerValidPaths(infos: readonly ValidPathInfo[]): void {
    const inSet = new Set(infos.map((i) => i.path.baseName));
    for (const info of infos) {
      for (const r of info.references) {
        if (!inSet.has(r.baseName) && !this.db.isValid(this.print(r))) {
          throw new NixError(
            StoreErrorCode.E_BAD_REFERENCE,
            `cannot add path '${this.print(info.path)}' because it references path '${this.print(r)}' which is not valid`,
          );
        }
      }
    }
    const rows = infos.map((i) => infoToRow(this.storeDir, i, i.path.isDerivation() ? this.drvOutputsOf(i.path) : undefined));
    this.db.registerValidPaths(rows);
  }

  private drvOutputsOf(p: StorePath): [string, string][] {
    try {
      return this.drvOutputsFromText(readFileSync(this.print(p), 'utf8'));
    } catch {
      return [];
    }
  }

  private drvOutputsFromText(text: string): [string, string][] {
    return drvOutputPaths(text).filter(([, out]) => this.storeDir.isStorePath(out));
  }

  /** @internal The outputs a `.drv`'s bytes name (for its registration). */
  drvOutputsOfBytes(b: Uint8Array): [string, string][] {
    return this.drvOutputsFromText(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8'));
  }

  /**
   * The common tail of every add: temp root, path lock, re-check, move into
   * place, register. `tmp` is consumed (moved or deleted). `canonical`:
   * `tmp` was made with canonical metadata already (no walk before the rename).
   */
  /** @internal */
  async finishAdd(tmp: string, info: ValidPathInfo, repair = false, canonical = false): Promise<ValidPathInfo> {
    const printed = this.print(info.path);
    try {
      if (!repair && (await this.rootIfValid(printed))) return this.queryPathInfoSync(info.path)!;
      const locks = this.tempRoots.tryAddAndLockSync(printed) ?? (await this.tempRoots.addAndLock(printed));
      try {
        if (!repair && this.db.isValid(printed)) return this.queryPathInfoSync(info.path)!;
        moveIntoPlace({ tmp, final: printed, fsync: this.fsync, canonical: canonical && newFilesOwnedRight(this.storeDir.dir) });
        this.registerValidPaths([info]);
        return info;
      } finally {
        locks.unlockSync();
      }
    } finally {
      deletePath(tmp);
    }
  }

  /**
   * Register contents already restored at `tmp` (inside the store, rooted)
   * as `info`: references must be valid (or the path itself). `canonical`:
   * restored with canonical metadata (`restoreNarHashed`).
   */
  async addFromTemp(tmp: string, info: ValidPathInfo, canonical = false): Promise<ValidPathInfo> {
    this.checkRefsValid(this.print(info.path), info.references, info.path);
    return this.finishAdd(tmp, info, false, canonical);
  }

  /** A temp entry name whose (random) hash part is already a temp root. */
  /** @internal */
  async makeRootedTemp(): Promise<string> {
    const hp = randomHashPart();
    await this.tempRoots.add(`${this.storeDir.dir}/${hp}-tix-tmp`);
    return makeTempPath(this.storeDir, hp);
  }



  /** Add a file-system path (`nix-store --add`, `--add-fixed`, `builtins.path`; add-path.ts). */
  async addPathToStore(opts: AddPathOptions): Promise<ValidPathInfo> {
    return addPathToStore(this, opts);
  }

  /** `addToStore` from a stream: a NAR for `recursive`, file bytes for `flat`/`text` (add-stream.ts). */
  async addToStore(opts: AddToStoreOptions): Promise<ValidPathInfo> {
    return addToStore(this, opts);
  }

  /** One text path (`builtins.toFile`, a `.drv`; add-texts.ts). */
  async addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
    return addTextToStore(this, name, text, references);
  }

  /** Several `addTextToStore`s, registered a chunk per transaction (add-texts.ts). */
  async addTextsToStore(items: readonly TextToAdd[]): Promise<StorePath[]> {
    return addTextsBatch(this, items);
  }

  /**
   * Put a small file's bytes under `path` (path lock held): O_TMPFILE +
   * link where possible, else a temp name and rename. Returns false, having
   * written nothing, when the path turns out to be valid already (unless
   * `repair`). The database is asked only when something is in the way:
   * a valid path is always on disk, so a free name means not valid, and a
   * new path costs no database read under the lock.
   */
  /** @internal */
  writeSmallFile(path: StorePath, data: Uint8Array, executable: boolean, repair: boolean): boolean {
    const printed = this.print(path);
    const r = writeFileAtomic(printed, data, { fsync: this.fsync, executable, replace: repair });
    if (r === 'written') return true;
    if (!repair && this.db.isValid(printed)) return false;
    // A leftover of a killed adder, or no O_TMPFILE here.
    if (r === 'exists' && writeFileAtomic(printed, data, { fsync: this.fsync, executable, replace: true }) === 'written') return true;
    const tmp = makeTempPath(this.storeDir, path.hashPart);
    let moved = false;
    try {
      writeNewFile(tmp, data, this.fsync, { executable });
      moveIntoPlace({ tmp, final: printed, fsync: this.fsync, canonical: true });
      moved = true;
    } finally {
      if (!moved) deletePath(tmp);
    }
    return true;
  }


  /**
   * An add of an already-valid path needs only a temp root (no path lock,
   * no lock file made and deleted), and none at all when this process
   * rooted it before. As in Nix, validity counts only once rooted: a GC
   * may have deleted the path just before. Small adds look on disk first
   * (`existsSync`): a valid path is always there, so an absent one, the
   * usual case for a new path, costs one access(2) instead of a database
   * read; one valid in the database yet missing on disk is then written
   * and registered again, which repairs it.
   */
  /**
   * Temp root and path lock for a small add whose locked part is
   * synchronous (write the file, register). The lock is a name of the
   * store's lock run (locks.ts `PathLockRun`; undefined returned), which
   * the run's end releases, or an ordinary lock (returned, for the caller
   * to unlock) when the run cannot take the path. With the run's lock the
   * caller must not await (nor let anything else run) until it is done:
   * hence `lockSmall` is synchronous when it succeeds, called right before
   * the locked part, and only its fallback is awaited.
   */
  /** @internal */
  async rootSmall(printed: string): Promise<void> {
    if (!this.tempRoots.tryAddSync(printed)) await this.tempRoots.add(printed);
  }

  /** See `rootSmall`: true when the run holds the lock now (nothing to unlock). */
  /** @internal */
  lockSmall(printed: string): boolean {
    if (this.lockRun.tryLockSync(printed)) return true;
    this.lockRun.releaseIfHeld(printed);
    return false;
  }

  /** @internal */
  async lockSmallSlow(printed: string): Promise<PathLocks> {
    return PathLocks.tryLockSync(printed) ?? PathLocks.lock([printed]);
  }

  /** @internal */
  async rootIfValid(printed: string): Promise<boolean> {
    if (!this.db.isValid(printed)) return false;
    await this.tempRoots.add(printed);
    return this.db.isValid(printed);
  }

  /**
   * Each of `refs` must be valid, except `self` (a path may refer to itself).
   * No filtered copy: a new empty array has another elements kind than the
   * usual references list, and deoptimised the add path's inlined check.
   */
  /** @internal */
  checkRefsValid(printed: string, refs: readonly StorePath[], self?: StorePath): void {
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i]!;
      if (self !== undefined && r.equals(self)) continue;
      if (!this.db.isValid(this.print(r))) {
        throw new NixError(StoreErrorCode.E_BAD_REFERENCE, `cannot add path '${printed}' because it references path '${this.print(r)}' which is not valid`);
      }
    }
  }




  /** `addToStore(info, narSource)`: the NAR must match `info.narHash`/`narSize` (add-nar.ts). */
  async addToStoreNar(info: ValidPathInfo, nar: ByteSource | ByteReader, opts: AddToStoreNarOptions = {}): Promise<void> {
    return addToStoreNar(this, info, nar, opts);
  }

  /** `addToStoreNar` without an await, for a small single-file NAR in memory; false: not taken (add-nar.ts). */
  addToStoreNarSync(info: ValidPathInfo, nar: Uint8Array, opts: AddToStoreNarOptions = {}): boolean {
    return addToStoreNarSync(this, info, nar, opts);
  }

  async *narFromPath(path: StorePath): ByteSource {
    const printed = this.print(path);
    if (!this.db.isValid(printed)) throw new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${printed}' is not valid`);
    yield* dumpPath(printed);
  }

  async addSignatures(path: StorePath, sigs: string[]): Promise<void> {
    const printed = this.print(path);
    this.db.immediate(() => {
      const row = this.db.queryPathInfo(printed);
      if (row === undefined) throw new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${printed}' is not valid`);
      const all = new Set([...(row.sigs ?? '').split(' ').filter((s) => s !== ''), ...sigs]);
      this.db.setSigs(row.id, all.size > 0 ? [...all].sort(compareUtf8).join(' ') : null);
    });
  }

  // ---- roots, GC, verification (gc/*.ts, verify.ts) ------------------------

  async addTempRoot(path: StorePath): Promise<void> {
    await this.tempRoots.add(this.print(path));
  }

  async addPermRoot(path: StorePath, gcRoot: string): Promise<string> {
    const { addPermRoot } = await import('../gc/roots.js');
    return addPermRoot(this, path, gcRoot);
  }

  async addIndirectRoot(path: string): Promise<void> {
    const { addIndirectRoot } = await import('../gc/roots.js');
    addIndirectRoot(this.stateDir, path);
  }

  async findRoots(censor: boolean): Promise<Roots> {
    const { findRoots } = await import('../gc/roots.js');
    return findRoots(this, censor);
  }

  async collectGarbage(opts: GCOptions): Promise<GCResults> {
    const { collectGarbage } = await import('../gc/collect.js');
    const r = await collectGarbage(this, opts);
    if (opts.action === 'deleteDead' || opts.action === 'deleteSpecific') {
      const { removeUnusedLinks } = await import('./optimise.js');
      removeUnusedLinks(this.storeDir.dir);
    }
    return r;
  }

  /** Hard-link identical files (`nix-store --optimise`; daemon op OptimiseStore). */
  async optimiseStore(): Promise<void> {
    const { optimiseStore } = await import('./optimise.js');
    await optimiseStore(this, { warn: () => undefined, info: () => undefined });
  }

  async verifyStore(checkContents: boolean, repair: boolean): Promise<boolean> {
    const { verifyStore } = await import('./verify.js');
    return verifyStore(this, { checkContents, repair });
  }
}


/**
 * `LocalStore` (libstore/local-store.cc): a Nix-compatible store on the local
 * file system, sharing its state dir, database and lock files with Nix 2.8.
 *
 * Layout (`NIX_STORE_DIR`, `NIX_STATE_DIR`): `<state>/db/{db.sqlite,schema,
 * big-lock,reserved}`, `gc.lock`, `gcroots/`, `profiles/`, `temproots/`.
 * Every add follows add-to-store.ts's temp-write → rename → register protocol.
 */
import { mkdirSync, existsSync, openSync, closeSync, ftruncateSync, writeFileSync, renameSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NixError, Settings, compareUtf8 } from '../../core/index.js';
import {
  Hash, StoreDir, StorePath, hashBytes, type HashType, type ByteReader,
} from '../../formats/index.js';
import { dumpPath } from '../nar-fs.js';
import { StoreErrorCode } from '../errors.js';
import type {
  AddToStoreNarOptions, AddToStoreOptions, ByteSource, GCOptions, GCResults, Roots, Store, TextToAdd, ValidPathInfo,
} from '../store.js';
import { PathLockRun, PathLocks, closeGcLockFd } from '../locks.js';
import { gcLockPath } from '../gc/temp-roots.js';
import { TempRoots } from '../gc/temp-roots.js';
import { StoreDb, type RegisterRow } from './db.js';
import { addTextsBatch } from './add-texts.js';
import { drvOutputPaths, infoToRow, rowToInfo, sortPaths } from './path-info.js';
import {
  checkAddName, deletePath, digestOf, fixedCa, newFilesOwnedRight, writeFileAtomic, makeTempPath, narHashes, randomHashPart, moveIntoPlace, narOfBytes, hashRegularNar, notFound, readSmallFile, textCa, writeNewFile, writeStreamHashed,
} from './add-to-store.js';
import { copyTree } from './canonicalise.js';
import { copyFileHashed } from './copy-hashed.js';
import { copyTreeHashed } from './copy-tree.js';
import { restoreNarHashed, skipNar } from './nar.js';
import { singleFileNar } from './single-file-nar.js';
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

  /**
   * The common tail of every add: temp root, path lock, re-check, move into
   * place, register. `tmp` is consumed (moved or deleted). `canonical`:
   * `tmp` was made with canonical metadata already (no walk before the rename).
   */
  private async finishAdd(tmp: string, info: ValidPathInfo, repair = false, canonical = false): Promise<ValidPathInfo> {
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
  private async makeRootedTemp(): Promise<string> {
    const hp = randomHashPart();
    await this.tempRoots.add(`${this.storeDir.dir}/${hp}-tix-tmp`);
    return makeTempPath(this.storeDir, hp);
  }

  /** Add a file-system path (`nix-store --add`, `--add-fixed`, `builtins.path`). */
  async addPathToStore(opts: AddPathOptions): Promise<ValidPathInfo> {
    // As in Nix, a bad name is reported when the path is made (after hashing).
    let st;
    try {
      st = lstatSync(opts.fsPath);
    } catch {
      throw notFound(opts.fsPath);
    }
    if (st.isFile() && st.size <= SMALL_FILE) return this.addSmallFile(opts, (st.mode & 0o100) !== 0, st.size);
    const tmp = await this.makeRootedTemp();
    try {
      let caHash: Hash;
      let narHash: Hash;
      let narSize: number;
      let canonical = false;
      if (opts.method === 'recursive' && opts.hashAlgo === 'sha256') {
        // One pass: the NAR hash is taken from the bytes as they are copied, canonical as written.
        ({ hash: narHash, narSize } = await copyTreeHashed(opts.fsPath, tmp));
        caHash = narHash;
        canonical = true;
      } else if (opts.method === 'recursive') {
        copyTree(opts.fsPath, tmp);
        const algos: HashType[] = opts.hashAlgo === 'sha256' ? ['sha256'] : ['sha256', opts.hashAlgo];
        const r = narHashes(tmp, algos, st.isFile() ? st.size : Infinity);
        narHash = r.hashes[0]!;
        caHash = r.hashes[algos.length - 1]!;
        narSize = r.narSize;
      } else {
        // One pass: contents hash and NAR hash from the bytes as they are copied.
        const r = copyFileHashed(opts.fsPath, tmp, opts.hashAlgo, opts.preserveExecutable === true && (st.mode & 0o100) !== 0);
        ({ hash: narHash, narSize, fileHash: caHash } = r);
      }
      const recursive = opts.method === 'recursive';
      const path = this.storeDir.makeFixedOutputPath({ recursive, hash: caHash, name: opts.name });
      const info: ValidPathInfo = {
        path, narHash, narSize, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: fixedCa(recursive, caHash),
      };
      return await this.finishAdd(tmp, info, opts.repair, canonical);
    } finally {
      deletePath(tmp);
    }
  }

  /**
   * A small regular file: read once into memory, hash those bytes, then root,
   * lock and write exactly them (one helper round trip per add).
   */
  private async addSmallFile(opts: AddPathOptions, executable: boolean, size: number): Promise<ValidPathInfo> {
    let data: Uint8Array;
    try {
      data = readSmallFile(opts.fsPath, size);
    } catch {
      throw notFound(opts.fsPath);
    }
    const recursive = opts.method === 'recursive';
    const exec = executable && (recursive || opts.preserveExecutable === true);
    const algos: HashType[] = recursive && opts.hashAlgo !== 'sha256' ? ['sha256', opts.hashAlgo] : ['sha256'];
    const { hashes, narSize } = hashRegularNar(data, exec, algos);
    const narHash = hashes[0]!;
    const caHash = !recursive ? hashBytes(opts.hashAlgo, data) : hashes[algos.length - 1]!;
    const path = this.storeDir.makeFixedOutputPath({ recursive, hash: caHash, name: opts.name });
    const printed = this.print(path);
    const info: ValidPathInfo = {
      path, narHash, narSize, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: fixedCa(recursive, caHash),
    };
    if (!opts.repair && existsSync(printed) && (await this.rootIfValid(printed))) return this.queryPathInfoSync(path)!;
    await this.rootSmall(printed);
    // Synchronous from the lock on (see rootSmall).
    const locks = this.lockSmall(printed) ? undefined : await this.lockSmallSlow(printed);
    try {
      if (!this.writeSmallFile(path, data, exec, opts.repair === true)) return this.queryPathInfoSync(path)!;
      this.db.registerValidPath(infoToRow(this.storeDir, info, path.isDerivation() ? this.drvOutputsFromText(utf8(data)) : undefined));
      return info;
    } finally {
      locks?.unlockSync();
    }
  }

  /** `addToStore` from a stream: a NAR for `recursive`, file bytes for `flat`/`text`. */
  async addToStore(opts: AddToStoreOptions): Promise<ValidPathInfo> {
    checkAddName(opts.name);
    if (opts.method === 'text') {
      const chunks: Uint8Array[] = [];
      for await (const c of opts.source) chunks.push(c);
      const p = await this.addTextToStore(opts.name, Buffer.concat(chunks), opts.references ?? []);
      return this.queryPathInfoSync(p)!;
    }
    const tmp = await this.makeRootedTemp();
    try {
      let caHash: Hash;
      let narHash: Hash;
      let narSize: number;
      if (opts.method === 'recursive') {
        const r = await restoreNarHashed(tmp, opts.source, opts.hashAlgo);
        ({ narHash, narSize, caHash } = r);
      } else {
        ({ hash: caHash } = await writeStreamHashed(tmp, opts.source, opts.hashAlgo));
        ({ hash: narHash, narSize } = hashPathWithSize(tmp));
      }
      const recursive = opts.method === 'recursive';
      const path = this.storeDir.makeFixedOutputPath({ recursive, hash: caHash, name: opts.name, references: opts.references });
      const info: ValidPathInfo = {
        path, narHash, narSize, references: sortPaths([...(opts.references ?? [])]), registrationTime: 0, ultimate: false, sigs: [],
        ca: fixedCa(recursive, caHash),
      };
      return await this.finishAdd(tmp, info, opts.repair, recursive);
    } finally {
      deletePath(tmp);
    }
  }

  async addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
    checkAddName(name);
    const contentHash = digestOf('sha256', text);
    const path = this.storeDir.makeTextPath(name, contentHash, references);
    const printed = this.print(path);
    if (existsSync(printed) && (await this.rootIfValid(printed))) return path;
    // The contents are written only when needed. Synchronous from the lock on (see rootSmall).
    await this.rootSmall(printed);
    const locks = this.lockSmall(printed) ? undefined : await this.lockSmallSlow(printed);
    try {
      this.checkRefsValid(printed, references);
      if (!this.writeSmallFile(path, text, false, false)) return path;
      // References were checked above; the outputs come from the text in hand.
      this.db.registerValidPath(this.textRow(path, text, contentHash, references));
      return path;
    } finally {
      locks?.unlockSync();
    }
  }

  /** Several `addTextToStore`s, registered a chunk per transaction (add-texts.ts). */
  async addTextsToStore(items: readonly TextToAdd[]): Promise<StorePath[]> {
    return addTextsBatch(this, items);
  }

  /** @internal The registration of a text path whose contents are in place. */
  textRow(path: StorePath, text: Uint8Array, contentHash: Hash, references: readonly StorePath[]): RegisterRow {
    const { narHash, narSize } = narOfBytes(text);
    return {
      path: this.print(path),
      hash: `sha256:${narHash.base16}`,
      registrationTime: Math.floor(Date.now() / 1000),
      deriver: null,
      narSize,
      ultimate: false,
      sigs: null,
      ca: textCa(contentHash),
      references: references.length === 0 ? [] : sortPaths([...references]).map((r) => this.print(r)),
      drvOutputs: path.isDerivation() ? this.drvOutputsFromText(utf8(text)) : undefined,
    };
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
  private async rootSmall(printed: string): Promise<void> {
    if (!this.tempRoots.has(printed) && !this.tempRoots.tryAddSync(printed)) await this.tempRoots.add(printed);
  }

  /** See `rootSmall`: true when the run holds the lock now (nothing to unlock). */
  private lockSmall(printed: string): boolean {
    if (this.lockRun.tryLockSync(printed)) return true;
    this.lockRun.releaseIfHeld(printed);
    return false;
  }

  private async lockSmallSlow(printed: string): Promise<PathLocks> {
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

  /**
   * `addToStore(info, narSource)`: the NAR must match `info.narHash`/`narSize`.
   * The NAR is restored and hashed in one pass; a single small file stays in
   * memory and is written under its final name only once it checked out.
   */
  async addToStoreNar(info: ValidPathInfo, nar: ByteSource | ByteReader, opts: AddToStoreNarOptions = {}): Promise<void> {
    const printed = this.print(info.path);
    this.checkRefsValid(printed, info.references, info.path);
    await this.rootSmall(printed);
    // As for small adds, a path absent on disk is not valid (no database read).
    if (!opts.repair && existsSync(printed) && this.db.isValid(printed)) {
      // Consume the NAR anyway, as Nix does, so a stream of several stays in step.
      if (Symbol.asyncIterator in nar) for await (const _ of nar as ByteSource) void _;
      else await skipNar(nar);
      return;
    }
    const tmp = makeTempPath(this.storeDir, info.path.hashPart);
    // Until the NAR turns out to be one small file kept in memory, `tmp` may exist.
    let onDisk = true;
    try {
      const r = await restoreNarHashed(tmp, nar, 'sha256', { inMemoryMax: SMALL_FILE });
      if (r.inMemory !== undefined) onDisk = false;
      if (!r.narHash.equals(info.narHash)) {
        throw new NixError(
          StoreErrorCode.E_NAR_HASH_MISMATCH,
          `hash mismatch importing path '${printed}';\n  specified: ${info.narHash.toString('base32')}\n  got:       ${r.narHash.toString('base32')}`,
        );
      }
      if (info.narSize !== 0 && info.narSize !== r.narSize) {
        throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, `size mismatch importing path '${printed}';\n  specified: ${info.narSize}\n  got:       ${r.narSize}`);
      }
      // A copy only when the size was not given (0): the usual info is passed on as it is.
      const final = info.narSize === r.narSize ? info : { ...info, narSize: r.narSize };
      if (r.inMemory === undefined) {
        await this.finishAdd(tmp, final, opts.repair, true);
        return;
      }
      // Rooted above; only the lock is missing. Synchronous from the lock on (see rootSmall).
      const locks = this.lockSmall(printed) ? undefined : await this.lockSmallSlow(printed);
      try {
        this.putSmallNar(info, final, r.inMemory.contents, r.inMemory.executable, opts.repair === true);
      } finally {
        locks?.unlockSync();
      }
    } finally {
      if (onDisk) deletePath(tmp);
    }
  }

  /**
   * `addToStoreNar` without an await, the same steps in the same order, for
   * a NAR in memory that is one small regular file (the daemon's usual
   * upload): no stream, no async parse. Declines (false) a repair, any
   * other NAR, a hash or size that does not match (so `addToStoreNar`
   * words the error), and a temp root or path lock not to be had at once.
   */
  addToStoreNarSync(info: ValidPathInfo, nar: Uint8Array, opts: AddToStoreNarOptions = {}): boolean {
    if (opts.repair || nar.length > SMALL_FILE + 256) return false;
    const printed = this.print(info.path);
    this.checkRefsValid(printed, info.references, info.path);
    if (!this.tempRoots.has(printed) && !this.tempRoots.tryAddSync(printed)) return false;
    if (existsSync(printed) && this.db.isValid(printed)) return true;
    const file = singleFileNar(nar);
    if (file === undefined || (info.narSize !== 0 && info.narSize !== nar.length)) return false;
    // The NAR is canonical byte for byte (singleFileNar): its hash is the parser's.
    if (!digestOf('sha256', nar).equals(info.narHash)) return false;
    if (!this.lockSmall(printed)) return false;
    this.putSmallNar(info, info.narSize === nar.length ? info : { ...info, narSize: nar.length }, file.contents, file.executable, false);
    return true;
  }

  /** Write and register a small single-file NAR's contents (temp root and path lock held, hash checked). */
  private putSmallNar(info: ValidPathInfo, final: ValidPathInfo, contents: Uint8Array, executable: boolean, repair: boolean): void {
    if (!this.writeSmallFile(info.path, contents, executable, repair)) return;
    // References were checked before (the transaction checks them again).
    this.db.registerValidPath(infoToRow(this.storeDir, final, info.path.isDerivation() ? this.drvOutputsFromText(utf8(contents)) : undefined));
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

function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
}

/** Files up to this size are added from memory in one pass. */
const SMALL_FILE = 1 << 20;

function hashPathWithSize(p: string, sizeHint = Infinity): { hash: Hash; narSize: number } {
  const r = narHashes(p, ['sha256'], sizeHint);
  return { hash: r.hashes[0]!, narSize: r.narSize };
}

/** Create the store dir and the state dir's fixed entries, as Nix does on first use. */
function initDirs(storeDir: string, state: string): void {
  mkdirSync(storeDir, { recursive: true });
  // The optimiser's hard-link dir, created by Nix on first use too (GC skips it).
  mkdirSync(join(storeDir, '.links'), { recursive: true });
  for (const d of ['db', 'gcroots', 'profiles', 'temproots', 'gc-socket']) mkdirSync(join(state, d), { recursive: true });
  for (const f of [join(state, 'gc.lock'), join(state, 'db', 'big-lock')]) {
    if (!existsSync(f)) closeSync(openSync(f, 'a', 0o600));
  }
  const reserved = join(state, 'db', 'reserved');
  if (!existsSync(reserved)) {
    // Space kept back so GC can run on a full disk (Nix's reserved-size, 8 MiB).
    const tmp = `${reserved}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      ftruncateSync(fd, 8 * 1024 * 1024);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, reserved);
  }
  void writeFileSync;
}

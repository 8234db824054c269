/**
 * `EvalIO` over a Nix store (Nix 2.8 EvalState's store calls): path copies
 * (`"${./p}"`, `builtins.path`, `filterSource`), `toFile` and `.drv` text
 * objects, validity checks and import-from-derivation.
 *
 * Store paths are always computed here, synchronously (NAR hash → fixed
 * output path, sha256 → text path), exactly like 2.8's read-only mode
 * (`nix-instantiate --eval`). When a `StoreBridge` is given (read-write
 * mode), the objects are also written through it; the evaluator runs on a
 * worker thread and the bridge forwards to the main thread's async `Store`.
 */
import * as fs from 'node:fs';
import { Hash, StoreDir, StorePath, hashBytes, parseDerivation, type Derivation } from '../formats/index.js';
import { EvalError, PlainFsIO, contextPath, ioError, type CopyToStoreOptions } from '../eval/index.js';
import { dumpPathSync, hashFileSync } from './nar-sync.js';
import { DeferredBridge, NeedWorker } from './deferred-store.js';

/** Synchronous store operations the evaluator thread may request. */
export interface StoreBridge {
  addTextToStore(name: string, text: Uint8Array, references: string[]): string;
  /** Add a NAR (recursive) or flat file under its content address; returns the path. */
  addToStore(name: string, method: 'recursive' | 'flat', data: Uint8Array): string;
  isValidPath(path: string): boolean;
  /** Build / substitute the given context elements (IFD). */
  realise(context: string[]): void;
  /** Register a permanent GC root `link` → `path`; returns the link. */
  addPermRoot?(path: string, link: string): string;
}

export interface GlueIOOptions {
  storeDir: string;
  system: string;
  env: Record<string, string | undefined>;
  /** The store, when there is one (fetchers and import-from-derivation use it). */
  bridge?: StoreBridge;
  /** Read-write mode: also write path copies, `toFile` and `.drv`s (else only compute paths, as 2.8's read-only mode). */
  readWrite: boolean;
  /** `trace:` lines and warnings. */
  stderr: (line: string) => void;
}

export class GlueIO extends PlainFsIO {
  readonly store: StoreDir;
  /** Derivations created in this evaluation (also those not written). */
  readonly drvs = new Map<string, Derivation>();
  /** Store paths computed (or written) in this evaluation, with their references. */
  private readonly known = new Map<string, string[]>();

  constructor(private readonly o: GlueIOOptions) {
    super({ storeDir: o.storeDir, system: o.system, env: o.env });
    this.store = new StoreDir(o.storeDir);
  }

  get bridge(): StoreBridge | undefined {
    return this.o.bridge;
  }

  /** The bridge, when objects are to be written. */
  get writer(): StoreBridge | undefined {
    return this.o.readWrite ? this.o.bridge : undefined;
  }

  override copyPathToStore(opts: CopyToStoreOptions): string {
    const name = opts.name;
    let path: StorePath;
    try {
      if (opts.recursive) {
        const d = dumpPathSync(opts.path, { filter: opts.filter, keepBytes: this.writer !== undefined });
        path = this.store.makeFixedOutputPath({ recursive: true, hash: new Hash('sha256', d.sha256), name });
        this.checkExpected(opts, d.sha256, path);
        if (this.writer) this.writeChecked(path, () => this.writer!.addToStore(name, 'recursive', d.nar!));
      } else {
        const f = hashFileSync(opts.path);
        path = this.store.makeFixedOutputPath({ recursive: false, hash: new Hash('sha256', f.sha256), name });
        this.checkExpected(opts, f.sha256, path);
        if (this.writer) this.writeChecked(path, () => this.writer!.addToStore(name, 'flat', f.bytes));
      }
    } catch (e) {
      // Our own errors (a hash mismatch) pass as they are; only system errors get the file's name.
      if (e instanceof EvalError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw ioError(`getting status of '${opts.path}': No such file or directory`);
      if (typeof code === 'string') throw ioError(`reading '${opts.path}': ${(e as Error).message}`);
      throw e;
    }
    const p = this.store.print(path);
    this.known.set(p, []);
    return p;
  }

  private checkExpected(opts: CopyToStoreOptions, sha256: Uint8Array, path: StorePath): void {
    if (opts.expectedSha256 === undefined) return;
    const got = Buffer.from(sha256).toString('hex');
    if (got !== opts.expectedSha256) {
      throw ioError(`store path mismatch in (possibly filtered) path added from '${opts.path}'`);
    }
    void path;
  }

  private writeChecked(expected: StorePath, write: () => string): void {
    const got = write();
    const want = this.store.print(expected);
    this.notePending(want);
    // A deferred bridge returns '' (it writes after evaluation).
    if (got !== want && got !== '') throw new Error(`Assertion failed: store returned '${got}', expected '${want}'`);
  }

  /** Record a path written through a deferred bridge (not on disk yet). */
  notePending(path: string): void {
    if (this.o.bridge instanceof DeferredBridge) this.o.bridge.pending.add(path);
  }

  /** Reading a path this evaluation wrote but has not yet flushed: only the worker can. */
  private checkPending(path: string): void {
    const b = this.o.bridge;
    if (!(b instanceof DeferredBridge) || b.pending.size === 0) return;
    const sd = this.o.storeDir + '/';
    if (!path.startsWith(sd)) return;
    const slash = path.indexOf('/', sd.length);
    const sp = slash < 0 ? path : path.slice(0, slash);
    if (b.pending.has(sp) && !fs.existsSync(Buffer.from(sp, 'latin1'))) throw new NeedWorker(`reading '${path}'`);
  }

  override readFile(path: string): Uint8Array {
    this.checkPending(path);
    return super.readFile(path);
  }
  /** 2.8 uses lstat: a dangling symlink exists, `file/` does not. */
  override pathExists(path: string): boolean {
    this.checkPending(path);
    try {
      fs.lstatSync(Buffer.from(path, 'latin1'));
      return true;
    } catch {
      return false;
    }
  }
  override fileType(path: string): ReturnType<PlainFsIO['fileType']> {
    this.checkPending(path);
    return super.fileType(path);
  }
  override readDir(path: string): ReturnType<PlainFsIO['readDir']> {
    this.checkPending(path);
    return super.readDir(path);
  }

  override addTextToStore(name: string, text: Uint8Array, refs: readonly string[]): string {
    const path = this.store.makeTextPath(name, hashBytes('sha256', text), refs.map((r) => this.store.parse(r)));
    const p = this.store.print(path);
    if (this.writer) {
      const got = this.writer.addTextToStore(name, text, [...refs]);
      this.notePending(p);
      if (got !== p && got !== '') throw new Error(`Assertion failed: store returned '${got}', expected '${p}'`);
    }
    this.known.set(p, [...refs]);
    return p;
  }

  /** Remember a derivation written (or computed) in this evaluation. */
  addDerivation(drvPath: string, drv: Derivation, refs: string[]): void {
    this.drvs.set(drvPath, drv);
    this.known.set(drvPath, refs);
  }

  /** A derivation by path: from this evaluation, else parsed from the store. */
  readDerivation(drvPath: string): Derivation {
    const d = this.drvs.get(drvPath);
    if (d) return d;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(Buffer.from(drvPath, 'latin1'));
    } catch {
      throw ioError(`path '${drvPath}' is not valid`);
    }
    const base = drvPath.slice(drvPath.lastIndexOf('/') + 1);
    const drv = parseDerivation(new Uint8Array(bytes), base.slice(33, -4));
    this.drvs.set(drvPath, drv);
    return drv;
  }

  /** References of a store path: known from this evaluation, else from a `.drv`'s inputs. */
  references(path: string): string[] {
    const k = this.known.get(path);
    if (k) return k;
    if (path.endsWith('.drv')) {
      const d = this.readDerivation(path);
      return [...d.inputSrcs, ...d.inputDrvs.keys()];
    }
    return [];
  }

  /** The closure of a store path (the path itself included). */
  closure(path: string): string[] {
    const seen = new Set<string>();
    const stack = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      stack.push(...this.references(p));
    }
    return [...seen];
  }

  override isValidPath(storePath: string): boolean {
    if (this.known.has(storePath) && this.writer) return true;
    if (this.o.bridge) return this.o.bridge.isValidPath(storePath);
    return super.isValidPath(storePath);
  }

  override realiseContext(context?: readonly string[]): readonly string[] {
    const missing: string[] = [];
    const outputs: string[] = [];
    for (const c of context ?? []) {
      const path = contextPath(c);
      if (c.startsWith('!')) {
        const out = c.slice(1, c.indexOf('!', 1));
        const drv = this.readDerivation(path);
        const o = drv.outputs.get(out);
        if (o && o.path !== '') outputs.push(o.path);
        if (o && o.path !== '' && fs.existsSync(Buffer.from(o.path, 'latin1'))) continue;
        missing.push(c);
      } else if (!fs.existsSync(Buffer.from(path, 'latin1'))) {
        missing.push(c);
      }
    }
    if (missing.length === 0) return outputs;
    this.checkValid(missing);
    if (!this.o.bridge) {
      throw ioError(`cannot build '${contextPath(missing[0]!)}' during evaluation because the option 'read-only mode' is enabled`);
    }
    this.o.bridge.realise(missing);
    return outputs;
  }

  /** 2.8 realiseContext: every context path (a derivation for an output)
   *  must be valid before anything is built; one computed but not written
   *  (read-only mode) is not. */
  private checkValid(missing: string[]): void {
    const bridge = this.o.bridge;
    if (!bridge) return;
    for (const c of missing) {
      const path = contextPath(c);
      if (bridge instanceof DeferredBridge && bridge.pending.has(path)) continue;
      if (!bridge.isValidPath(path)) throw ioError(`path '${path}' is not valid`);
    }
  }

  override trace(line: string): void {
    this.o.stderr(line);
  }
}

/**
 * An in-memory `Store` for other layers' unit tests (the role of Nix's
 * `DummyStore` plus contents). Paths, hashes and content addresses are
 * computed exactly as `LocalStore` computes them; contents are kept as NARs.
 * No GC roots exist except temp roots, so `collectGarbage` treats everything
 * not temp-rooted and not reachable from a temp root as dead.
 */
import { NixError, compareUtf8 } from '../core/index.js';
import {
  HashSink, StoreDir, StorePath, hashBytes, regularFromBytes, serialiseNar, type Hash,
} from '../formats/index.js';
import { StoreErrorCode } from './errors.js';
import type {
  AddToStoreNarOptions, AddToStoreOptions, ByteSource, GCOptions, GCResults, Roots, Store, ValidPathInfo,
} from './store.js';

interface Entry {
  info: ValidPathInfo;
  nar: Uint8Array;
}

async function collect(src: ByteSource): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

const sortPaths = (ps: StorePath[]): StorePath[] => ps.sort((a, b) => compareUtf8(a.baseName, b.baseName));

export class MemoryStore implements Store {
  readonly storeDir: StoreDir;
  private readonly paths = new Map<string, Entry>();
  private readonly tempRoots = new Set<string>();
  /** drv base name → output name → path (what registration of a `.drv` would record). */
  readonly drvOutputs = new Map<string, Map<string, StorePath>>();

  constructor(storeDir = '/nix/store') {
    this.storeDir = new StoreDir(storeDir);
  }

  private get(p: StorePath): Entry | undefined {
    return this.paths.get(p.baseName);
  }

  async isValidPath(p: StorePath): Promise<boolean> {
    return this.paths.has(p.baseName);
  }
  async queryValidPaths(ps: StorePath[]): Promise<StorePath[]> {
    return ps.filter((p) => this.paths.has(p.baseName));
  }
  async queryAllValidPaths(): Promise<StorePath[]> {
    return sortPaths([...this.paths.values()].map((e) => e.info.path));
  }
  async queryPathInfo(p: StorePath): Promise<ValidPathInfo | undefined> {
    const e = this.get(p);
    return e === undefined ? undefined : { ...e.info, references: [...e.info.references], sigs: [...e.info.sigs] };
  }
  async queryReferrers(p: StorePath): Promise<StorePath[]> {
    return sortPaths([...this.paths.values()].filter((e) => e.info.references.some((r) => r.equals(p))).map((e) => e.info.path));
  }
  async queryValidDerivers(p: StorePath): Promise<StorePath[]> {
    const out: StorePath[] = [];
    for (const [drv, outs] of this.drvOutputs) {
      if (this.paths.has(drv) && [...outs.values()].some((o) => o.equals(p))) out.push(new StorePath(drv));
    }
    return sortPaths(out);
  }
  async queryDerivationOutputMap(drvPath: StorePath): Promise<Map<string, StorePath | undefined>> {
    if (!this.paths.has(drvPath.baseName)) throw this.notValid(drvPath);
    return new Map(this.drvOutputs.get(drvPath.baseName) ?? []);
  }
  async queryPathFromHashPart(hashPart: string): Promise<StorePath | undefined> {
    for (const e of this.paths.values()) if (e.info.path.hashPart === hashPart) return e.info.path;
    return undefined;
  }

  private notValid(p: StorePath): NixError {
    return new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${this.storeDir.print(p)}' is not valid`);
  }

  private checkRefs(path: StorePath, refs: readonly StorePath[]): void {
    for (const r of refs) {
      if (!r.equals(path) && !this.paths.has(r.baseName)) {
        throw new NixError(
          StoreErrorCode.E_BAD_REFERENCE,
          `cannot add path '${this.storeDir.print(path)}' because it references path '${this.storeDir.print(r)}' which is not valid`,
        );
      }
    }
  }

  private put(info: ValidPathInfo, nar: Uint8Array): void {
    // Like LocalStore: what this process adds is a temp root for its lifetime.
    this.tempRoots.add(info.path.baseName);
    if (this.paths.has(info.path.baseName)) return;
    this.paths.set(info.path.baseName, {
      info: { ...info, references: sortPaths([...info.references]), registrationTime: info.registrationTime || Math.floor(Date.now() / 1000) },
      nar,
    });
  }

  async addToStore(opts: AddToStoreOptions): Promise<ValidPathInfo> {
    const data = await collect(opts.source);
    if (opts.method === 'text') {
      const p = await this.addTextToStore(opts.name, data, opts.references ?? []);
      return (await this.queryPathInfo(p))!;
    }
    const recursive = opts.method === 'recursive';
    const nar = recursive ? data : serialiseNar(regularFromBytes(data));
    const caHash: Hash = hashBytes(opts.hashAlgo, data);
    const path = this.storeDir.makeFixedOutputPath({ recursive, hash: caHash, name: opts.name, references: opts.references });
    this.checkRefs(path, opts.references ?? []);
    const info: ValidPathInfo = {
      path, narHash: hashBytes('sha256', nar), narSize: nar.length, references: [...(opts.references ?? [])], registrationTime: 0,
      ultimate: false, sigs: [], ca: `fixed:${recursive ? 'r:' : ''}${caHash.type}:${caHash.base32}`,
    };
    this.put(info, nar);
    return (await this.queryPathInfo(path))!;
  }

  async addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
    const h = hashBytes('sha256', text);
    const path = this.storeDir.makeTextPath(name, h, references);
    this.checkRefs(path, references);
    const nar = serialiseNar(regularFromBytes(text));
    this.put(
      { path, narHash: hashBytes('sha256', nar), narSize: nar.length, references: [...references], registrationTime: 0, ultimate: false, sigs: [], ca: `text:sha256:${h.base32}` },
      nar,
    );
    return path;
  }

  async addToStoreNar(info: ValidPathInfo, source: ByteSource, _opts?: AddToStoreNarOptions): Promise<void> {
    const nar = await collect(source);
    const h = new HashSink('sha256');
    h.update(nar);
    if (!h.finish().equals(info.narHash)) {
      throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, `hash mismatch importing path '${this.storeDir.print(info.path)}'`);
    }
    this.checkRefs(info.path, info.references);
    this.put({ ...info, narSize: nar.length }, nar);
  }

  async *narFromPath(p: StorePath): ByteSource {
    const e = this.get(p);
    if (e === undefined) throw this.notValid(p);
    yield e.nar;
  }

  /** Test helper: the stored NAR of a path. */
  getNar(p: StorePath): Uint8Array | undefined {
    return this.get(p)?.nar;
  }

  async addTempRoot(p: StorePath): Promise<void> {
    this.tempRoots.add(p.baseName);
  }
  async addIndirectRoot(_path: string): Promise<void> {
    /* no permanent roots in memory */
  }
  async findRoots(censor: boolean): Promise<Roots> {
    const r: Roots = new Map();
    for (const b of this.tempRoots) if (this.paths.has(b)) r.set(new StorePath(b), new Set([censor ? '{censored}' : `{temp:${process.pid}}`]));
    return r;
  }

  async collectGarbage(opts: GCOptions): Promise<GCResults> {
    const live = opts.ignoreLiveness ? new Set<string>() : await this.computeFSClosure([...this.tempRoots].filter((b) => this.paths.has(b)).map((b) => new StorePath(b)));
    const print = (b: string): string => `${this.storeDir.dir}/${b}`;
    if (opts.action === 'returnLive') return { paths: [...live].sort(), bytesFreed: 0 };
    let targets = [...this.paths.keys()].filter((b) => !live.has(print(b)));
    if (opts.action === 'returnDead') return { paths: targets.map(print).sort(), bytesFreed: 0 };
    if (opts.action === 'deleteSpecific') {
      targets = (opts.pathsToDelete ?? []).map((p) => p.baseName);
      for (const t of targets) {
        if (live.has(print(t))) {
          throw new NixError(StoreErrorCode.E_PATH_IN_USE, `Cannot delete path '${print(t)}' since it is still alive. To find out why, use: nix-store --query --roots`);
        }
      }
    }
    const res: GCResults = { paths: [], bytesFreed: 0 };
    for (const t of targets) {
      const e = this.paths.get(t);
      if (e === undefined) continue;
      if (opts.maxFreed !== undefined && opts.maxFreed > 0 && res.bytesFreed >= opts.maxFreed) break;
      this.paths.delete(t);
      res.paths.push(print(t));
      res.bytesFreed += e.nar.length;
    }
    return res;
  }

  async verifyStore(): Promise<boolean> {
    return false;
  }

  async computeFSClosure(
    paths: StorePath[],
    opts: { flipDirection?: boolean; includeOutputs?: boolean; includeDerivers?: boolean } = {},
  ): Promise<Set<string>> {
    const out = new Set<string>();
    const stack = [...paths];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const full = this.storeDir.print(p);
      if (out.has(full)) continue;
      const e = this.get(p);
      if (e === undefined) throw this.notValid(p);
      out.add(full);
      const next = opts.flipDirection ? await this.queryReferrers(p) : e.info.references;
      stack.push(...next);
      if (!opts.flipDirection && opts.includeOutputs && p.isDerivation()) {
        for (const o of this.drvOutputs.get(p.baseName)?.values() ?? []) if (this.paths.has(o.baseName)) stack.push(o);
      }
      if (!opts.flipDirection && opts.includeDerivers && e.info.deriver && this.paths.has(e.info.deriver.baseName)) stack.push(e.info.deriver);
    }
    return out;
  }
}

/**
 * A tiny in-memory `Store` for the recursive-nix unit tests (not a real store:
 * "NARs" are the raw bytes, text paths are computed as Nix does). Inner builds
 * are answered by a callback so tests can script the scheduler.
 */
import { hashBytes, StoreDir, StorePath } from '../../formats/index.js';
import { fromUtf8, utf8 } from '../../core/index.js';
import type {
  AddToStoreOptions, ByteSource, DerivedPath, GCResults, KeyedBuildResult, Roots, Store, ValidPathInfo,
} from '../../store/index.js';

export const FAKE_STORE_DIR = '/tix-test/store';

async function collect(src: ByteSource): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

export class FakeStore implements Store {
  readonly storeDir = new StoreDir(FAKE_STORE_DIR);
  readonly contents = new Map<string, Uint8Array>();
  readonly infos = new Map<string, ValidPathInfo>();
  readonly outputMaps = new Map<string, Map<string, StorePath>>();
  readonly tempRoots = new Set<string>();
  builds: DerivedPath[][] = [];
  close?: () => Promise<void>;
  onBuild?: (paths: DerivedPath[]) => Promise<KeyedBuildResult[]>;

  /** Register a path with contents and references (no deriver checks). */
  put(name: string, text: string, references: StorePath[] = [], extra: Partial<ValidPathInfo> = {}): StorePath {
    const bytes = utf8(text);
    const path = this.storeDir.makeTextPath(name, hashBytes('sha256', bytes), references);
    this.register(path, bytes, references, extra);
    return path;
  }

  register(path: StorePath, bytes: Uint8Array, references: StorePath[], extra: Partial<ValidPathInfo> = {}): void {
    this.contents.set(path.baseName, bytes);
    this.infos.set(path.baseName, {
      path, narHash: hashBytes('sha256', bytes), narSize: bytes.length, references, registrationTime: 1700000000,
      ultimate: true, sigs: ['cache.example.org-1:c2lnbmF0dXJl'], deriver: undefined, ...extra,
    });
  }

  text(path: StorePath): string {
    return fromUtf8(this.contents.get(path.baseName)!);
  }

  async isValidPath(p: StorePath): Promise<boolean> {
    return this.infos.has(p.baseName);
  }
  async queryValidPaths(ps: StorePath[]): Promise<StorePath[]> {
    return ps.filter((p) => this.infos.has(p.baseName));
  }
  async queryAllValidPaths(): Promise<StorePath[]> {
    return [...this.infos.values()].map((i) => i.path);
  }
  async queryPathInfo(p: StorePath): Promise<ValidPathInfo | undefined> {
    const i = this.infos.get(p.baseName);
    return i === undefined ? undefined : { ...i };
  }
  async queryReferrers(p: StorePath): Promise<StorePath[]> {
    return [...this.infos.values()].filter((i) => i.references.some((r) => r.equals(p))).map((i) => i.path);
  }
  async queryValidDerivers(): Promise<StorePath[]> {
    return [];
  }
  async queryDerivationOutputMap(drv: StorePath): Promise<Map<string, StorePath | undefined>> {
    return new Map(this.outputMaps.get(drv.baseName) ?? []);
  }
  async queryPathFromHashPart(h: string): Promise<StorePath | undefined> {
    return [...this.infos.values()].find((i) => i.path.hashPart === h)?.path;
  }
  async addToStore(o: AddToStoreOptions): Promise<ValidPathInfo> {
    const bytes = await collect(o.source);
    const refs = o.references ?? [];
    const path = this.storeDir.makeTextPath(o.name, hashBytes('sha256', bytes), refs);
    if (!this.infos.has(path.baseName)) this.register(path, bytes, refs, { ca: 'text:sha256:x' });
    return { ...this.infos.get(path.baseName)! };
  }
  async addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
    const path = this.storeDir.makeTextPath(name, hashBytes('sha256', text), references);
    if (!this.infos.has(path.baseName)) this.register(path, text, references);
    return path;
  }
  async addToStoreNar(info: ValidPathInfo, nar: ByteSource): Promise<void> {
    const bytes = await collect(nar);
    if (this.infos.has(info.path.baseName)) return; // as Nix: an already-valid path is skipped
    this.register(info.path, bytes, info.references);
  }
  narFromPath(p: StorePath): ByteSource {
    const bytes = this.contents.get(p.baseName);
    return (async function* () {
      if (bytes === undefined) throw new Error(`path '${p.baseName}' is not valid`);
      yield bytes;
    })();
  }
  async addTempRoot(p: StorePath): Promise<void> {
    this.tempRoots.add(p.baseName);
  }
  async addIndirectRoot(): Promise<void> {}
  async findRoots(): Promise<Roots> {
    return new Map([[[...this.infos.values()][0]!.path, new Set(['/root-link'])]]);
  }
  async collectGarbage(): Promise<GCResults> {
    return { paths: ['/deleted'], bytesFreed: 1 };
  }
  async verifyStore(): Promise<boolean> {
    return false;
  }
  async computeFSClosure(paths: StorePath[]): Promise<Set<string>> {
    const out = new Set<string>();
    const stack = [...paths];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const full = this.storeDir.print(p);
      if (out.has(full)) continue;
      out.add(full);
      stack.push(...(this.infos.get(p.baseName)?.references ?? []));
    }
    return out;
  }
  async buildPathsWithResults(paths: DerivedPath[]): Promise<KeyedBuildResult[]> {
    this.builds.push(paths);
    if (this.onBuild === undefined) throw new Error('no builder scripted');
    return this.onBuild(paths);
  }
}

/** A successful build result for a drv with the given outputs. */
export function builtResult(path: DerivedPath, outputs: Record<string, StorePath>): KeyedBuildResult {
  return {
    path, status: 0, errorMsg: '', timesBuilt: 1, isNonDeterministic: false, startTime: 0, stopTime: 0,
    builtOutputs: new Map(Object.entries(outputs)),
  };
}

export { StorePath };

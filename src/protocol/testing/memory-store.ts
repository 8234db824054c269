/**
 * A small in-memory `Store` for protocol tests, fuzzing and benchmarks: it
 * keeps NARs in memory and computes content-addressed paths the way Nix does,
 * so daemon tests do not depend on the local store. Not for production use.
 */
import { NixError, concatBytes } from '../../core/index.js';
import { HashSink, StoreDir, WireWriter, hashBytes, type Hash, type StorePath } from '../../formats/index.js';
import type {
  AddToStoreOptions,
  ByteSource,
  GCOptions,
  GCResults,
  Roots,
  Store,
  ValidPathInfo,
} from '../../store/store.js';

async function collect(src: ByteSource): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c.slice());
  return concatBytes(parts);
}

/** NAR of a single regular file. */
export function narOfFile(contents: Uint8Array, executable = false): Uint8Array {
  const w = new WireWriter().string('nix-archive-1').string('(').string('type').string('regular');
  if (executable) w.string('executable').string('');
  return w.string('contents').string(contents).string(')').take();
}

export class MemoryStore implements Store {
  readonly storeDir: StoreDir;
  readonly infos = new Map<string, ValidPathInfo>();
  readonly nars = new Map<string, Uint8Array>();
  readonly tempRoots = new Set<string>();
  readonly indirectRoots = new Set<string>();

  constructor(dir: string) {
    this.storeDir = new StoreDir(dir);
  }

  async isValidPath(p: StorePath): Promise<boolean> {
    return this.infos.has(p.baseName);
  }
  async queryValidPaths(paths: StorePath[]): Promise<StorePath[]> {
    return paths.filter((p) => this.infos.has(p.baseName));
  }
  async queryAllValidPaths(): Promise<StorePath[]> {
    return [...this.infos.values()].map((i) => i.path);
  }
  async queryPathInfo(p: StorePath): Promise<ValidPathInfo | undefined> {
    const i = this.infos.get(p.baseName);
    return i ? { ...i, references: [...i.references], sigs: [...i.sigs] } : undefined;
  }
  async queryReferrers(p: StorePath): Promise<StorePath[]> {
    return [...this.infos.values()].filter((i) => i.references.some((r) => r.equals(p))).map((i) => i.path);
  }
  async queryValidDerivers(p: StorePath): Promise<StorePath[]> {
    const d = this.infos.get(p.baseName)?.deriver;
    return d && this.infos.has(d.baseName) ? [d] : [];
  }
  async queryDerivationOutputMap(): Promise<Map<string, StorePath | undefined>> {
    return new Map();
  }
  async queryPathFromHashPart(h: string): Promise<StorePath | undefined> {
    return [...this.infos.values()].find((i) => i.path.hashPart === h)?.path;
  }

  protected register(info: ValidPathInfo, nar: Uint8Array): void {
    for (const r of info.references) {
      if (!r.equals(info.path) && !this.infos.has(r.baseName)) {
        throw new NixError('E0201', `path '${this.storeDir.print(r)}' is not valid`);
      }
    }
    if (info.registrationTime === 0) info.registrationTime = Math.floor(Date.now() / 1000);
    this.infos.set(info.path.baseName, info);
    this.nars.set(info.path.baseName, nar);
  }

  async addToStore(opts: AddToStoreOptions): Promise<ValidPathInfo> {
    const data = await collect(opts.source);
    const refs = opts.references ?? [];
    const nar = opts.method === 'recursive' ? data : narOfFile(data);
    const narHash = hashBytes('sha256', nar);
    let path: StorePath;
    let ca: string;
    if (opts.method === 'text') {
      const h = hashBytes('sha256', data);
      path = this.storeDir.makeTextPath(opts.name, h, refs);
      ca = `text:${h.toString('base32')}`;
    } else {
      const h: Hash = opts.method === 'recursive' ? (opts.hashAlgo === 'sha256' ? narHash : hashBytes(opts.hashAlgo, nar)) : hashBytes(opts.hashAlgo, data);
      path = this.storeDir.makeFixedOutputPath({ recursive: opts.method === 'recursive', hash: h, name: opts.name, references: refs });
      ca = `fixed:${opts.method === 'recursive' ? 'r:' : ''}${h.toString('base32')}`;
    }
    const existing = this.infos.get(path.baseName);
    if (existing && !opts.repair) return { ...existing };
    const info: ValidPathInfo = { path, narHash, narSize: nar.length, references: refs, registrationTime: 0, ultimate: true, sigs: [], ca };
    this.register(info, nar);
    return { ...info };
  }

  async addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
    return (await this.addToStore({ name, method: 'text', hashAlgo: 'sha256', source: (async function* () { yield text; })(), references })).path;
  }

  async addToStoreNar(info: ValidPathInfo, source: ByteSource): Promise<void> {
    const sink = new HashSink('sha256');
    const parts: Uint8Array[] = [];
    for await (const c of source) {
      sink.update(c);
      parts.push(c.slice());
    }
    const nar = await collect((async function* () { yield* parts; })());
    const h = sink.finish();
    if (!h.equals(info.narHash)) {
      throw new NixError('E0203', `hash mismatch importing path '${this.storeDir.print(info.path)}';\n  specified: ${info.narHash.toString()}\n  got:       ${h.toString()}`);
    }
    if (nar.length !== info.narSize) throw new NixError('E0203', `size mismatch importing path '${this.storeDir.print(info.path)}'`);
    if (this.infos.has(info.path.baseName)) return;
    this.register({ ...info, references: [...info.references], sigs: [...info.sigs] }, nar);
  }

  narFromPath(p: StorePath): ByteSource {
    const nar = this.nars.get(p.baseName);
    const sd = this.storeDir;
    return (async function* () {
      if (!nar) throw new NixError('E0201', `path '${sd.print(p)}' is not valid`);
      for (let i = 0; i < nar.length; i += 65536) yield nar.subarray(i, i + 65536);
    })();
  }

  async addTempRoot(p: StorePath): Promise<void> {
    this.tempRoots.add(p.baseName);
  }
  async addIndirectRoot(link: string): Promise<void> {
    this.indirectRoots.add(link);
  }
  async findRoots(): Promise<Roots> {
    const roots: Roots = new Map();
    for (const b of this.tempRoots) {
      const info = this.infos.get(b);
      if (info) roots.set(info.path, new Set(['{temp:0}']));
    }
    return roots;
  }

  private live(): Set<string> {
    const live = new Set<string>();
    const stack = [...this.tempRoots];
    while (stack.length > 0) {
      const b = stack.pop()!;
      if (live.has(b) || !this.infos.has(b)) continue;
      live.add(b);
      for (const r of this.infos.get(b)!.references) stack.push(r.baseName);
    }
    return live;
  }

  async collectGarbage(opts: GCOptions): Promise<GCResults> {
    const live = this.live();
    const dead = [...this.infos.keys()].filter((b) => !live.has(b));
    if (opts.action === 'returnLive') return { paths: [...live].map((b) => this.storeDir.dir + '/' + b), bytesFreed: 0 };
    if (opts.action === 'returnDead') return { paths: dead.map((b) => this.storeDir.dir + '/' + b), bytesFreed: 0 };
    const victims = opts.action === 'deleteSpecific' ? (opts.pathsToDelete ?? []).map((p) => p.baseName) : dead;
    let freed = 0;
    for (const b of victims) {
      if (live.has(b)) throw new NixError('E0202', `cannot delete path '${this.storeDir.dir}/${b}' since it is still alive`);
      freed += this.nars.get(b)?.length ?? 0;
      this.infos.delete(b);
      this.nars.delete(b);
    }
    return { paths: victims.map((b) => this.storeDir.dir + '/' + b), bytesFreed: freed };
  }

  async verifyStore(): Promise<boolean> {
    for (const [b, info] of this.infos) {
      if (!hashBytes('sha256', this.nars.get(b)!).equals(info.narHash)) return true;
    }
    return false;
  }

  async computeFSClosure(paths: StorePath[]): Promise<Set<string>> {
    const out = new Set<string>();
    const stack = paths.map((p) => p.baseName);
    while (stack.length > 0) {
      const b = stack.pop()!;
      if (out.has(b)) continue;
      out.add(b);
      for (const r of this.infos.get(b)?.references ?? []) stack.push(r.baseName);
    }
    return new Set([...out].map((b) => this.storeDir.dir + '/' + b));
  }
}

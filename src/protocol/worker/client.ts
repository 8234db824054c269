/**
 * `RemoteStore` (libstore/remote-store.cc, uds-remote-store.cc, ssh-store.cc):
 * a `Store` whose every operation is a worker-protocol request to a daemon.
 * Connections come from a pool so concurrent callers never interleave on one
 * stream; a connection whose stream state is unknown after an error is closed
 * instead of being reused. Version fallbacks follow 2.8's client (spec §10).
 */
import { NixError, type Logger } from '../../core/index.js';
import { StoreDir, WireWriter, type StorePath } from '../../formats/index.js';
import type {
  AddToStoreNarOptions,
  AddToStoreOptions,
  BuildMode,
  BuildResult,
  ByteSource,
  DerivedPath,
  GCOptions,
  GCResults,
  KeyedBuildResult,
  MissingInfo,
  Roots,
  Store,
  ValidPathInfo,
} from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import { ClientConnection, type ClientOptions, type Connector } from './client-conn.js';
import { copyNar, writeFramed } from './nar-stream.js';
import { Op } from './ops.js';
import {
  parseDerivedPath,
  printDerivedPath,
  readBuildResult,
  readKeyedBuildResult,
  readPathInfoBody,
  readStorePaths,
  writeBasicDerivation,
  writePathInfo,
  writeStorePaths,
  type BasicDerivation,
} from './serialise.js';

export interface RemoteStoreOptions extends ClientOptions {
  storeDir: string;
  connect: Connector;
  /** Most connections open at once (callers beyond it wait). */
  maxConnections?: number;
  logger?: Logger;
}

const GC_ACTION_NO = { returnLive: 0, returnDead: 1, deleteDead: 2, deleteSpecific: 3 } as const;
const BUILD_MODE_NO = { normal: 0, repair: 1, check: 2 } as const;

export class RemoteStore implements Store {
  readonly storeDir: StoreDir;
  private readonly idle: ClientConnection[] = [];
  private open = 0;
  private readonly waiters: ((c: ClientConnection | undefined) => void)[] = [];

  constructor(readonly opts: RemoteStoreOptions) {
    this.storeDir = new StoreDir(opts.storeDir);
  }

  private async acquire(): Promise<ClientConnection> {
    const c = this.idle.pop();
    if (c) return c;
    if (this.open >= (this.opts.maxConnections ?? 8)) {
      const w = await new Promise<ClientConnection | undefined>((r) => this.waiters.push(r));
      if (w) return w;
    }
    this.open++;
    try {
      const conn = new ClientConnection(await this.opts.connect(), this.opts);
      await conn.init();
      return conn;
    } catch (e) {
      this.open--;
      throw e;
    }
  }

  private release(c: ClientConnection): void {
    if (!c.good) {
      c.close();
      this.open--;
      this.waiters.shift()?.(undefined);
      return;
    }
    const w = this.waiters.shift();
    if (w) w(c);
    else this.idle.push(c);
  }

  /** Send a request, process stderr, then read the reply with `read`. */
  private async call<T>(build: (w: WireWriter, minor: number) => void, read: (c: ClientConnection) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    try {
      const w = new WireWriter();
      build(w, c.minor);
      await c.send(w);
      await c.processStderr();
      return await read(c);
    } catch (e) {
      // A daemon-reported error leaves the stream in sync; anything else does not.
      if (!(e instanceof NixError && e.code === ProtocolErrorCode.E_PROTOCOL_REMOTE)) c.good = false;
      throw e;
    } finally {
      this.release(c);
    }
  }

  /** Daemon's protocol minor version and nixVersion (connects if needed). */
  async getInfo(): Promise<{ minor: number; daemonVersion?: string; trusted?: boolean }> {
    const c = await this.acquire();
    this.release(c);
    return c.info;
  }

  private print(p: StorePath): string {
    return this.storeDir.print(p);
  }

  isValidPath(path: StorePath): Promise<boolean> {
    return this.call((w) => w.u64(Op.IsValidPath).string(this.print(path)), (c) => c.reader.bool());
  }

  queryValidPaths(paths: StorePath[], opts: { substitute?: boolean } = {}): Promise<StorePath[]> {
    return this.call(
      (w, minor) => {
        writeStorePaths(w.u64(Op.QueryValidPaths), this.storeDir, paths);
        if (minor >= 27) w.bool(opts.substitute ?? false);
      },
      (c) => c.reader.parse((p) => readStorePaths(p, this.storeDir)),
    );
  }

  queryAllValidPaths(): Promise<StorePath[]> {
    return this.call((w) => w.u64(Op.QueryAllValidPaths), (c) => c.reader.parse((p) => readStorePaths(p, this.storeDir)));
  }

  async queryPathInfo(path: StorePath): Promise<ValidPathInfo | undefined> {
    try {
      return await this.call(
        (w) => w.u64(Op.QueryPathInfo).string(this.print(path)),
        async (c) => {
          if (c.minor >= 17 && !(await c.reader.bool())) return undefined;
          return c.reader.parse((p) => readPathInfoBody(p, this.storeDir, path, c.minor));
        },
      );
    } catch (e) {
      // 2.8's client treats this text as "invalid path" (old daemons report it as an error).
      if (e instanceof NixError && e.code === ProtocolErrorCode.E_PROTOCOL_REMOTE && e.message.includes('is not valid')) return undefined;
      throw e;
    }
  }

  private pathsOp(op: number, path: StorePath): Promise<StorePath[]> {
    return this.call((w) => w.u64(op).string(this.print(path)), (c) => c.reader.parse((p) => readStorePaths(p, this.storeDir)));
  }

  queryReferrers(path: StorePath): Promise<StorePath[]> {
    return this.pathsOp(Op.QueryReferrers, path);
  }

  queryValidDerivers(path: StorePath): Promise<StorePath[]> {
    return this.pathsOp(Op.QueryValidDerivers, path);
  }

  queryDerivationOutputMap(drvPath: StorePath): Promise<Map<string, StorePath | undefined>> {
    return this.call(
      (w) => w.u64(Op.QueryDerivationOutputMap).string(this.print(drvPath)),
      (c) =>
        c.reader.parse((p) => new Map(p.stringMap().map(([k, v]) => [k, v === '' ? undefined : this.storeDir.parse(v)] as const))),
    );
  }

  queryPathFromHashPart(hashPart: string): Promise<StorePath | undefined> {
    return this.call(
      (w) => w.u64(Op.QueryPathFromHashPart).string(hashPart),
      async (c) => {
        const s = await c.reader.string();
        return s === '' ? undefined : this.storeDir.parse(s);
      },
    );
  }

  /** Framed upload: requests and frames go out while the reply side is read. */
  private async upload<T>(head: WireWriter, source: ByteSource, read: (c: ClientConnection) => Promise<T>, c: ClientConnection): Promise<T> {
    let uploadError: unknown;
    const sending = writeFramed(c.sink, head.take(), source).catch(async (e: unknown) => {
      uploadError = e;
      // Keep the stream in sync: the daemon drains to the terminator then reports.
      c.sink.write(new WireWriter(8).u64(0).take());
    });
    await sending;
    await c.sink.flush();
    await c.processStderr();
    if (uploadError !== undefined) throw uploadError;
    return read(c);
  }

  private async withConn<T>(fn: (c: ClientConnection) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    try {
      return await fn(c);
    } catch (e) {
      if (!(e instanceof NixError && e.code === ProtocolErrorCode.E_PROTOCOL_REMOTE)) c.good = false;
      throw e;
    } finally {
      this.release(c);
    }
  }

  addToStore(opts: AddToStoreOptions): Promise<ValidPathInfo> {
    return this.withConn(async (c) => {
      if (c.minor < 25) throw new NixError(ProtocolErrorCode.E_PROTOCOL_UNSUPPORTED, 'the daemon is too old for AddToStore (< 1.25)');
      const cam = opts.method === 'text' ? `text:${opts.hashAlgo}` : opts.method === 'recursive' ? `fixed:r:${opts.hashAlgo}` : `fixed:${opts.hashAlgo}`;
      const head = new WireWriter().u64(Op.AddToStore).string(opts.name).string(cam);
      writeStorePaths(head, this.storeDir, opts.references ?? []).bool(opts.repair ?? false);
      return this.upload(head, opts.source, async (cc) => {
        const path = this.storeDir.parse(await cc.reader.string());
        return cc.reader.parse((p) => readPathInfoBody(p, this.storeDir, path, cc.minor));
      }, c);
    });
  }

  async addTextToStore(name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
    const info = await this.addToStore({ name, method: 'text', hashAlgo: 'sha256', source: (async function* () { yield text; })(), references });
    return info.path;
  }

  addToStoreNar(info: ValidPathInfo, nar: ByteSource, opts: AddToStoreNarOptions = {}): Promise<void> {
    return this.withConn(async (c) => {
      if (c.minor < 23) throw new NixError(ProtocolErrorCode.E_PROTOCOL_UNSUPPORTED, 'the daemon is too old for framed AddToStoreNar (< 1.23)');
      const head = new WireWriter().u64(Op.AddToStoreNar);
      writePathInfo(head, this.storeDir, info, 16);
      head.bool(opts.repair ?? false).bool(opts.dontCheckSigs ?? false);
      await this.upload(head, nar, async () => undefined, c);
    });
  }

  narFromPath(path: StorePath): ByteSource {
    const self = this;
    return (async function* () {
      const c = await self.acquire();
      let complete = false;
      try {
        await c.send(new WireWriter().u64(Op.NarFromPath).string(self.print(path)));
        await c.processStderr();
        for await (const chunk of copyNar(c.reader)) yield chunk;
        complete = true;
      } finally {
        if (!complete) c.good = false;
        self.release(c);
      }
    })();
  }

  private ok(op: number, arg?: string): Promise<void> {
    return this.call(
      (w) => {
        w.u64(op);
        if (arg !== undefined) w.string(arg);
      },
      async (c) => void (await c.reader.u64()),
    );
  }

  addTempRoot(path: StorePath): Promise<void> {
    return this.ok(Op.AddTempRoot, this.print(path));
  }

  addIndirectRoot(path: string): Promise<void> {
    return this.ok(Op.AddIndirectRoot, path);
  }

  ensurePath(path: StorePath): Promise<void> {
    return this.ok(Op.EnsurePath, this.print(path));
  }

  optimiseStore(): Promise<void> {
    return this.ok(Op.OptimiseStore);
  }

  findRoots(_censor: boolean): Promise<Roots> {
    return this.call(
      (w) => w.u64(Op.FindRoots),
      (c) =>
        c.reader.parse((p) => {
          const roots: Roots = new Map();
          const byBase = new Map<string, StorePath>();
          const n = p.u64();
          for (let i = 0; i < n; i++) {
            const link = p.string();
            const target = this.storeDir.parse(p.string());
            const key = byBase.get(target.baseName) ?? target;
            byBase.set(target.baseName, key);
            const set = roots.get(key) ?? new Set<string>();
            set.add(link);
            roots.set(key, set);
          }
          return roots;
        }),
    );
  }

  collectGarbage(opts: GCOptions): Promise<GCResults> {
    return this.call(
      (w) => {
        w.u64(Op.CollectGarbage).u64(GC_ACTION_NO[opts.action]);
        writeStorePaths(w, this.storeDir, opts.pathsToDelete ?? []);
        w.bool(opts.ignoreLiveness ?? false).u64(opts.maxFreed ?? (1n << 64n) - 1n).u64(0).u64(0).u64(0);
      },
      (c) => c.reader.parse((p) => ({ paths: p.strings(), bytesFreed: p.u64(), _: p.u64() })).then(({ paths, bytesFreed }) => ({ paths, bytesFreed })),
    );
  }

  verifyStore(checkContents: boolean, repair: boolean): Promise<boolean> {
    return this.call((w) => w.u64(Op.VerifyStore).bool(checkContents).bool(repair), (c) => c.reader.bool());
  }

  addSignatures(path: StorePath, sigs: string[]): Promise<void> {
    return this.call((w) => w.u64(Op.AddSignatures).string(this.print(path)).strings(sigs), async (c) => void (await c.reader.u64()));
  }

  async computeFSClosure(
    paths: StorePath[],
    opts: { flipDirection?: boolean; includeOutputs?: boolean; includeDerivers?: boolean } = {},
  ): Promise<Set<string>> {
    const seen = new Set<string>();
    let frontier = paths;
    while (frontier.length > 0) {
      const next: StorePath[] = [];
      await Promise.all(
        frontier.map(async (p) => {
          if (seen.has(p.baseName)) return;
          seen.add(p.baseName);
          const edges = opts.flipDirection ? await this.queryReferrers(p) : ((await this.queryPathInfo(p))?.references ?? []);
          next.push(...edges);
          if (opts.includeOutputs && p.isDerivation()) {
            for (const o of (await this.queryDerivationOutputMap(p)).values()) if (o && (await this.isValidPath(o))) next.push(o);
          }
          if (opts.includeDerivers) {
            const d = (await this.queryPathInfo(p))?.deriver;
            if (d && (await this.isValidPath(d))) next.push(d);
          }
        }),
      );
      frontier = next.filter((p) => !seen.has(p.baseName));
    }
    return new Set([...seen].map((b) => this.storeDir.dir + '/' + b));
  }

  buildPaths(paths: DerivedPath[], mode: BuildMode = 'normal'): Promise<void> {
    return this.call(
      (w, minor) => {
        w.u64(Op.BuildPaths).strings(paths.map((d) => printDerivedPath(this.storeDir, d, minor)));
        w.u64(BUILD_MODE_NO[mode]);
      },
      async (c) => void (await c.reader.u64()),
    );
  }

  async buildPathsWithResults(paths: DerivedPath[], mode: BuildMode = 'normal'): Promise<KeyedBuildResult[]> {
    const { minor } = await this.getInfo();
    if (minor < 34) {
      await this.buildPaths(paths, mode);
      return paths.map((path) => ({ path, status: 0, errorMsg: '', timesBuilt: 0, isNonDeterministic: false, startTime: 0, stopTime: 0, builtOutputs: new Map() }));
    }
    return this.call(
      (w, m) => {
        w.u64(Op.BuildPathsWithResults).strings(paths.map((d) => printDerivedPath(this.storeDir, d, m)));
        w.u64(BUILD_MODE_NO[mode]);
      },
      (c) =>
        c.reader.parse((p) => {
          const n = p.u64();
          return Array.from({ length: n }, () => readKeyedBuildResult(p, this.storeDir, c.minor));
        }),
    );
  }

  queryMissing(paths: DerivedPath[]): Promise<MissingInfo> {
    return this.call(
      (w, minor) => w.u64(Op.QueryMissing).strings(paths.map((d) => printDerivedPath(this.storeDir, d, minor))),
      (c) =>
        c.reader.parse((p) => ({
          willBuild: readStorePaths(p, this.storeDir),
          willSubstitute: readStorePaths(p, this.storeDir),
          unknown: readStorePaths(p, this.storeDir),
          downloadSize: p.u64(),
          narSize: p.u64(),
        })),
    );
  }

  buildDerivation(drvPath: StorePath, drv: unknown, mode: BuildMode = 'normal'): Promise<BuildResult> {
    return this.call(
      (w) => {
        w.u64(Op.BuildDerivation).string(this.print(drvPath));
        writeBasicDerivation(w, this.storeDir, drv as BasicDerivation);
        w.u64(BUILD_MODE_NO[mode]);
      },
      (c) => c.reader.parse((p) => readBuildResult(p, c.minor)),
    );
  }

  addBuildLog(drvPath: StorePath, log: Uint8Array): Promise<void> {
    return this.withConn(async (c) => {
      const head = new WireWriter().u64(Op.AddBuildLog).string(drvPath.baseName);
      await this.upload(head, (async function* () { yield log; })(), async (cc) => void (await cc.reader.u64()), c);
    });
  }

  /** Parse a DerivedPath string with this store's dir (for CLIs). */
  parseDerivedPath(s: string): DerivedPath {
    return parseDerivedPath(this.storeDir, s, 30);
  }

  async close(): Promise<void> {
    for (const c of this.idle.splice(0)) c.close();
    this.open = 0;
  }
}

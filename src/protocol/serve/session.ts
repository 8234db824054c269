/**
 * One `nix-store --serve` session (nix-store.cc `opServe`, Nix 2.8): the
 * reader over stdin, the sink over stdout, the store, the client's version and
 * whether `--write` was given. Also the wire readers 2.8 uses here: `readInt`
 * is a u64 that must fit a C `unsigned int`, paths are parsed as they are read.
 */
import { NixError, type Logger } from '../../core/index.js';
import { FormatsErrorCode, WireWriter, type StoreDir, type StorePath } from '../../formats/index.js';
import type { Store } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import type { SocketSink } from '../worker/connection.js';
import type { HangupWatch } from '../worker/op-context.js';
import type { WireReader } from '../worker/reader.js';
import { readStorePaths } from '../worker/serialise.js';
import { serveMinor } from './version.js';

/** The settings a build command carries (2.8 `getBuildSettings`), as nix.conf names → values. */
export type BuildOverrides = Map<string, string>;

export interface ServeLegacyOptions {
  /** `--write`: allow the commands that add to the store or build. */
  writeAllowed: boolean;
  /**
   * The store to build with, given the client's build settings and a signal
   * aborted when the client hangs up. Without it, the served store's own
   * build operations are used and the settings are ignored.
   */
  buildStore?: (overrides: BuildOverrides, signal: AbortSignal) => Store;
  /** Debug messages (the session's own diagnostics; never the protocol stream). */
  logger?: Logger;
}

export class ServeSession {
  /** The client's protocol version (2.8 gates on its minor). */
  clientVersion = 0;

  constructor(
    readonly reader: WireReader,
    readonly sink: SocketSink,
    readonly store: Store,
    readonly opts: ServeLegacyOptions,
    readonly hangup: HangupWatch,
  ) {}

  get sd(): StoreDir {
    return this.store.storeDir;
  }

  get minor(): number {
    return serveMinor(this.clientVersion);
  }

  /** 2.8 `readInt`: a u64 read into an `unsigned int`. */
  readInt(): Promise<number> {
    return this.reader.parse((p) => {
      const v = p.u64Big();
      if (v > 0xffffffffn) throw new NixError(FormatsErrorCode.E_WIRE_INVALID, `serialised integer ${v} is too large for type 'j'`);
      return Number(v);
    });
  }

  /** 2.8 `readNum<uint64_t>` for sizes and times (must fit a safe JS integer). */
  readNum(): Promise<number> {
    return this.reader.u64();
  }

  readString(max = 1 << 20): Promise<string> {
    return this.reader.string(max);
  }

  async readPath(): Promise<StorePath> {
    const s = await this.reader.string(4096);
    return this.sd.parse(s);
  }

  readPaths(): Promise<StorePath[]> {
    return this.reader.parse((p) => readStorePaths(p, this.sd));
  }

  /** Queue `w`'s bytes for the client. */
  send(w: WireWriter): void {
    this.sink.write(w.take());
  }

  /** Send raw bytes, pausing while the client is not reading. */
  async sendChunk(b: Uint8Array): Promise<void> {
    this.sink.write(b);
    if (this.sink.congested) await this.sink.flush();
    if (this.sink.isClosed) throw new NixError(ProtocolErrorCode.E_PROTOCOL_EOF, 'writing to file: Broken pipe');
  }

  requireWrite(what: 'importing' | 'building'): void {
    if (!this.opts.writeAllowed) throw new NixError(ProtocolErrorCode.E_PROTOCOL_NOT_ALLOWED, `${what} paths is not allowed`);
  }
}

/** Paths as a 2.8 `StorePathSet`: sorted by name, each once. */
export function pathSet(paths: StorePath[]): StorePath[] {
  const m = new Map(paths.map((p) => [p.baseName, p]));
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

/**
 * One daemon connection's state and its output side (daemon.cc
 * `processConnection`). Output bytes are coalesced within a tick and written
 * with back-pressure; the operation handlers live in server-ops*.ts.
 */
import { Settings, type Logger } from '../../core/index.js';
import { WireWriter, type StoreDir } from '../../formats/index.js';
import type { Store } from '../../store/store.js';
import type { WireReader } from './reader.js';
import { TunnelLogger, type ByteSink } from './tunnel-logger.js';
import type { PathInfoCache, PathInfoCacheOptions } from './path-info-cache.js';

/** Peer credentials from SO_PEERCRED (undefined for stdio and unknown peers). */
export interface PeerCredentials {
  uid: number;
  gid: number;
  pid: number;
}

export interface ServeOptions {
  /** Trusted clients may repair, add signatures, skip signature checks, set any option. */
  trusted: boolean;
  /**
   * Recursive-nix mode: the peer is a builder. Untrusted, SetOptions is parsed
   * but ignored, and the connection may be closed when the build ends.
   */
  recursive?: boolean;
  /** The daemon's own log (connection errors, debug). */
  logger?: Logger;
  /** Daemon settings (`trusted-substituters`, …); read-only. */
  settings?: Settings;
  peer?: PeerCredentials;
  /** Version string sent to ≥1.33 clients. */
  nixVersion?: string;
  /** Keep a per-connection path-info cache (as 2.8's per-connection daemon process does). */
  pathInfoCache?: PathInfoCacheOptions;
}

/** Output: writes are queued and sent together at the end of the tick. */
export class SocketSink implements ByteSink {
  private queue: Uint8Array[] = [];
  private scheduled = false;
  private closed = false;
  private drainWaiters: (() => void)[] = [];
  private needDrain = false;

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('drain', () => {
      this.needDrain = false;
      for (const w of this.drainWaiters.splice(0)) w();
    });
    out.on('close', () => this.markClosed());
    out.on('error', () => this.markClosed());
  }

  private markClosed(): void {
    this.closed = true;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  write(b: Uint8Array): void {
    if (b.length === 0 || this.closed) return;
    this.queue.push(b);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.push());
    }
  }

  private push(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.closed) return;
    // Copied, even one part: a queued chunk may be a buffer its producer reuses later.
    const parts = this.queue;
    this.queue = [];
    let n = 0;
    for (const p of parts) n += p.length;
    const buf = Buffer.allocUnsafe(n);
    let off = 0;
    for (const p of parts) {
      buf.set(p, off);
      off += p.length;
    }
    this.send(buf);
  }

  private send(b: Uint8Array): void {
    try {
      if (!this.out.write(b)) this.needDrain = true;
    } catch {
      this.markClosed();
    }
  }

  /**
   * Send `b` now, after anything queued: one write for a reply that is ready
   * whole (a cached answer). `b` must not change afterwards.
   */
  writeNow(b: Uint8Array): void {
    if (this.closed) return;
    if (this.queue.length > 0) this.push();
    this.send(b);
  }

  /** The peer is not reading: wait (`flush`) before producing more. */
  get congested(): boolean {
    return this.needDrain;
  }

  /** Send everything queued and wait while the peer is not reading. */
  async flush(): Promise<void> {
    this.push();
    if (this.needDrain && !this.closed) await new Promise<void>((r) => this.drainWaiters.push(r));
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** What lasts for the whole session (SetOptions), shared by its operations. */
export interface SessionState {
  readonly storeDir: StoreDir;
  overrides: Map<string, string>;
  verbosity: number;
  pathInfos?: PathInfoCache;
}

/** What operation handlers see. */
export class Conn {
  readonly logger: TunnelLogger;
  private replyWriter: WireWriter | undefined;
  /** Set once `startWork` ran for the current op (errors after it are non-fatal). */
  workStarted = false;
  /** Set when the input position is unknown after an error: the connection must close. */
  desync = false;
  /** Set after STDERR_LAST of an op that streams after it (NarFromPath). */
  streaming = false;
  /** Per-connection option overrides from SetOptions (shared by the connection's ops). */
  readonly overrides: Map<string, string>;
  readonly tempRoots = new Set<string>();

  constructor(
    readonly reader: WireReader,
    readonly sink: SocketSink,
    readonly store: Store,
    readonly minor: number,
    readonly opts: ServeOptions,
    readonly state: SessionState,
  ) {
    this.logger = new TunnelLogger(sink, minor);
    this.overrides = state.overrides;
    this.logger.verbosity = state.verbosity as TunnelLogger['verbosity'];
  }

  /** Daemon settings plus this client's SetOptions, or undefined when it sent none. */
  effectiveSettings(): Settings | undefined {
    if (this.overrides.size === 0) return this.opts.settings;
    const s = this.opts.settings?.clone() ?? new Settings();
    for (const [k, v] of this.overrides) s.set(k, v);
    return s;
  }

  /** Reply payload, sent after STDERR_LAST (made on first use: many ops answer nothing). */
  get reply(): WireWriter {
    return (this.replyWriter ??= new WireWriter(64));
  }

  /** The reply so far, and reset. */
  takeReply(): Uint8Array | undefined {
    const w = this.replyWriter;
    return w === undefined || w.length === 0 ? undefined : w.take();
  }

  /** The store's directory, read once per session (the served store may be a proxy). */
  get sd(): StoreDir {
    return this.state.storeDir;
  }

  get trusted(): boolean {
    return this.opts.trusted && !this.opts.recursive;
  }

  startWork(): void {
    this.workStarted = true;
    this.logger.startWork();
  }
}

/**
 * The worker-protocol server loop (daemon.cc `processConnection`): handshake,
 * then one operation at a time until the client closes. Serves any `Store`.
 *
 * Error policy (better than 2.8, see docs/deviations.md): an error raised once
 * the request is fully parsed is one non-fatal STDERR_ERROR and the session
 * goes on; an error that leaves the input position unknown (malformed data,
 * unknown opcode, truncated upload) is reported once and the connection is
 * closed. Nothing a client sends can throw out of `serveConnection`.
 *
 * A QueryPathInfo whose answer is cached, and a small AddToStoreNar that
 * arrived whole, skip the general loop (fast-path.ts): they are answered as
 * their bytes arrive while the loop waits, or from the buffer.
 * Operations that may change path infos bump the caches' generation before
 * and after they run (path-info-cache.ts).
 */
import { NixError, Verbosity } from '../../core/index.js';
import type { Store } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import { Conn, SocketSink, type ServeOptions, type SessionState } from './connection.js';
import { PathInfoCache, bumpPathInfoGeneration, changesPathInfos } from './path-info-cache.js';
import { answerFast, type FastOps } from './fast-path.js';
import { handshakeServer } from './handshake.js';
import { OP_NAMES } from './ops.js';
import { HangupWatch, runWithContext } from './op-context.js';
import { StreamChunkSource, WireReader } from './reader.js';
import type { RemoteErrorInfo } from './serialise.js';
import { addOps } from './server-ops-add.js';
import { buildOps } from './server-ops-build.js';
import { queryOps, type Handler } from './server-ops-query.js';

export type { ServeOptions, PeerCredentials } from './connection.js';

const HANDLERS: Record<number, Handler> = { ...queryOps, ...addOps, ...buildOps };

export { currentOpContext, currentOpLogger, type OpContext } from './op-context.js';

/** A duplex byte stream: a socket, or stdin/stdout. */
export interface Duplex {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Tear the transport down (called when the session ends or is closed). */
  destroy(): void;
}

export interface ServerConnection {
  /** Resolves when the session ended (never rejects). */
  readonly done: Promise<void>;
  /** Once `done` resolved: whether the input ended before the handshake did
   *  (2.8's `nix-daemon --stdio` then fails with "unexpected end-of-file"). */
  readonly endedInHandshake: boolean;
  close(): void;
}

/** Tracks live connections so a daemon (or a finished build) can close them all. */
export class ConnectionSet {
  private readonly live = new Set<ServerConnection>();
  /** Called whenever the last live connection has ended. */
  onIdle: (() => void) | undefined;
  add(c: ServerConnection): void {
    this.live.add(c);
    void c.done.then(() => {
      this.live.delete(c);
      if (this.live.size === 0) this.onIdle?.();
    });
  }
  get size(): number {
    return this.live.size;
  }
  /** Close every connection and wait for their loops to end. */
  async closeAll(): Promise<void> {
    const all = [...this.live];
    for (const c of all) c.close();
    await Promise.all(all.map((c) => c.done));
  }
}

/** Everything still connected through `serveConnection` in this process. */
export const allConnections = new ConnectionSet();

function socketDuplex(socket: NodeJS.ReadableStream & NodeJS.WritableStream & { destroy(): void }): Duplex {
  return { input: socket, output: socket, destroy: () => socket.destroy() };
}

/**
 * Serve one client. `transport` is a connected socket or a `Duplex`.
 * Returns at once; `done` resolves when the client is gone.
 */
export function serveConnection(
  transport: (NodeJS.ReadableStream & NodeJS.WritableStream & { destroy(): void }) | Duplex,
  store: Store,
  opts: ServeOptions,
): ServerConnection {
  const d: Duplex = 'input' in transport ? transport : socketDuplex(transport);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    d.destroy();
  };
  let endedInHandshake = false;
  const done = runSession(d, store, opts)
    .then((end) => { endedInHandshake = end === 'eof-in-handshake'; })
    .catch((e: unknown) => opts.logger?.log(Verbosity.Error, `error: unexpected daemon failure: ${String(e)}`))
    .finally(close);
  const conn = { done, close, get endedInHandshake() { return endedInHandshake; } };
  allConnections.add(conn);
  return conn;
}

function errorInfo(e: unknown): RemoteErrorInfo {
  if (e instanceof NixError) return { message: e.message, status: e.exitCode, traces: e.traces };
  return { message: e instanceof Error ? e.message : String(e), status: 1, traces: [] };
}

function isEof(e: unknown): boolean {
  return e instanceof NixError && e.code === ProtocolErrorCode.E_PROTOCOL_EOF;
}

async function runSession(d: Duplex, store: Store, opts: ServeOptions): Promise<'eof-in-handshake' | undefined> {
  const source = new StreamChunkSource(d.input);
  const reader = new WireReader(source);
  const sink = new SocketSink(d.output);
  let minor: number;
  try {
    minor = await handshakeServer(reader, sink, opts);
  } catch (e) {
    if (!isEof(e)) opts.logger?.log(Verbosity.Debug, `handshake failed: ${errorInfo(e).message}`);
    return isEof(e) ? 'eof-in-handshake' : undefined;
  }
  const state: SessionState = {
    storeDir: store.storeDir,
    overrides: new Map<string, string>(),
    verbosity: Verbosity.Error,
    pathInfos: opts.pathInfoCache ? new PathInfoCache(opts.pathInfoCache) : undefined,
  };
  const hangup = new HangupWatch(d.input, d.output);
  const fast = fastOps(store, sink, minor, opts, state);
  const quick = fast === undefined ? undefined : (b: Uint8Array): number => answerFast(b, 0, fast);
  // Set when the buffered bytes start with a request the short way just declined (not offered twice).
  let declined = false;
  try {
    for (;;) {
      if (sink.congested) await sink.flush();
      if (sink.isClosed) return;
      if (fast !== undefined && reader.buffered > 0 && !declined) {
        reader.skip(answerFast(reader.window, reader.windowStart, fast));
        if (sink.congested) continue;
      }
      declined = false;
      if (reader.buffered === 0) {
        source.intercept = quick;
        const eof = await reader.atEof();
        source.intercept = undefined;
        if (eof) return;
        // The chunk that woke us was offered to the short way as it arrived; what is left it declined.
        declined = quick !== undefined;
        continue;
      }
      const c = new Conn(reader, sink, store, minor, opts, state);
      const ok = await runOp(c, hangup);
      hangup.opDone();
      if (!ok) return;
      await sink.flush();
      if (sink.isClosed) return;
    }
  } finally {
    hangup.stop();
  }
}

/** What the session's short way may answer (fast-path.ts), if anything. */
function fastOps(store: Store, sink: SocketSink, minor: number, opts: ServeOptions, state: SessionState): FastOps | undefined {
  const cache = minor >= 17 ? state.pathInfos : undefined;
  // Looked up once: the served store may be a proxy, whose traps each call would pay.
  const addNar = minor >= 23 ? store.addToStoreNarSync?.bind(store) : undefined;
  if (cache === undefined && addNar === undefined) return undefined;
  return { sink, cache, addNar, sd: state.storeDir, trusted: opts.trusted && !opts.recursive, settings: opts.settings };
}

/** One operation; false when the connection must end. */
async function runOp(c: Conn, hangup: HangupWatch): Promise<boolean> {
  let op = -1;
  try {
    op = await c.reader.u32();
    const h = HANDLERS[op];
    if (h === undefined) {
      c.desync = true;
      throw new NixError(ProtocolErrorCode.E_PROTOCOL_INVALID_OP, `invalid operation ${op}`);
    }
    const context = () => ({ logger: c.logger, settings: () => c.effectiveSettings(), get signal() { return hangup.signal(); } });
    if (changesPathInfos(op)) {
      // Around the change, so no cache keeps an answer read before it ended.
      bumpPathInfoGeneration();
      try {
        await runWithContext(op, context, () => h(c));
      } finally {
        bumpPathInfoGeneration();
      }
    } else {
      await runWithContext(op, context, () => h(c));
    }
    if (!c.streaming) {
      c.logger.stopWork();
      const reply = c.takeReply();
      if (reply !== undefined) c.sink.write(reply);
    }
    return true;
  } catch (e) {
    if (isEof(e) && !c.workStarted) return false;
    if (c.streaming) return false; // after STDERR_LAST nothing can be reported in band
    const info = errorInfo(e);
    c.opts.logger?.log(Verbosity.Debug, `error processing ${OP_NAMES[op] ?? `operation ${op}`}: ${info.message}`);
    if (isEof(e)) return false;
    c.logger.stopWork(info);
    // Not fully parsed, or its payload not consumed: the next byte is not an opcode.
    return c.workStarted && !c.desync;
  }
}

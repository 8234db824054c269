/**
 * The `nix-store --serve` loop (nix-store.cc `opServe`, Nix 2.8): the server
 * side of `ssh://` stores. Greeting: the client sends SERVE_MAGIC_1, we send
 * SERVE_MAGIC_2 and our version (2.7), then read the client's version. Then
 * one command at a time until the client closes its end.
 *
 * Error policy (as 2.8): the end of input where a command would start is the
 * normal end of the session; anything else that goes wrong (bad magic, an
 * unknown command, malformed or truncated data, a refused write, a failing
 * store call) ends the session with that error, which the caller prints.
 * Every error leaving here is a `NixError` (never a stack trace), and nothing
 * is added to the store from a request that was not read whole.
 */
import { NixError } from '../../core/index.js';
import { WireWriter } from '../../formats/index.js';
import type { Store } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import { SocketSink } from '../worker/connection.js';
import { HangupWatch } from '../worker/op-context.js';
import { StreamChunkSource, WireReader } from '../worker/reader.js';
import { buildCommands } from './build.js';
import { serveCommands, type ServeHandler } from './commands.js';
import { ServeSession, type ServeLegacyOptions } from './session.js';
import { SERVE_MAGIC_1, SERVE_MAGIC_2, SERVE_PROTOCOL_VERSION, ServeCommand } from './version.js';

export type { ServeLegacyOptions, BuildOverrides } from './session.js';

const HANDLERS: Record<number, ServeHandler> = {
  ...serveCommands,
  [ServeCommand.BuildPaths]: buildCommands.buildPaths,
  [ServeCommand.BuildDerivation]: buildCommands.buildDerivation,
};

export interface ServeStreams {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

function isEof(e: unknown): boolean {
  return e instanceof NixError && e.code === ProtocolErrorCode.E_PROTOCOL_EOF;
}

/** Any failure as a `NixError` (a store's fs error, say, keeps its message). */
function asNixError(e: unknown): NixError {
  if (e instanceof NixError) return e;
  return new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, e instanceof Error ? e.message : String(e));
}

async function greet(s: ServeSession): Promise<void> {
  const magic = await s.readInt();
  if (magic !== SERVE_MAGIC_1) throw new NixError(ProtocolErrorCode.E_PROTOCOL_BAD_MAGIC, 'protocol mismatch');
  s.send(new WireWriter(16).u64(SERVE_MAGIC_2).u64(SERVE_PROTOCOL_VERSION));
  await s.sink.flush();
  s.clientVersion = await s.readInt();
}

/** The next command, or undefined when the client has finished. */
async function nextCommand(s: ServeSession): Promise<number | undefined> {
  try {
    return await s.readInt();
  } catch (e) {
    if (isEof(e)) return undefined;
    throw e;
  }
}

/**
 * Serve one client on `io` until it closes its end (resolves) or the session
 * fails (rejects with the `NixError` 2.8 would print).
 */
export async function serveLegacy(io: ServeStreams, store: Store, opts: ServeLegacyOptions): Promise<void> {
  const reader = new WireReader(new StreamChunkSource(io.input));
  const sink = new SocketSink(io.output);
  const hangup = new HangupWatch(io.input, io.output);
  const s = new ServeSession(reader, sink, store, opts, hangup);
  try {
    await greet(s);
    for (;;) {
      const cmd = await nextCommand(s);
      if (cmd === undefined) break;
      const h = HANDLERS[cmd];
      if (h === undefined) throw new NixError(ProtocolErrorCode.E_PROTOCOL_INVALID_OP, `unknown serve command ${cmd}`);
      await h(s);
      await sink.flush();
    }
  } catch (e) {
    throw asNixError(e);
  } finally {
    hangup.stop();
    await sink.flush();
  }
}

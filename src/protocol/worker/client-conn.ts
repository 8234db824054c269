/**
 * One client connection to a daemon (remote-store.cc `Connection`,
 * `processStderr`): handshake, SetOptions, and the stderr loop that turns
 * log messages into `Logger` calls and STDERR_ERROR into a thrown `NixError`.
 */
import { connect as netConnect } from 'node:net';
import { spawn } from 'node:child_process';
import { NixError, Verbosity, type Logger, type VerbosityLevel } from '../../core/index.js';
import { WireWriter, type WireParser } from '../../formats/index.js';
import { ProtocolErrorCode } from '../errors.js';
import { SocketSink } from './connection.js';
import { handshakeClient, type ClientHandshake } from './handshake.js';
import { Op } from './ops.js';
import { StreamChunkSource, WireReader } from './reader.js';
import { readErrorRecord } from './serialise.js';
import type { Duplex } from './server.js';
import {
  STDERR_ERROR,
  STDERR_LAST,
  STDERR_NEXT,
  STDERR_READ,
  STDERR_RESULT,
  STDERR_START_ACTIVITY,
  STDERR_STOP_ACTIVITY,
  STDERR_WRITE,
} from './version.js';

export type Connector = () => Promise<Duplex>;

/** Connect to a daemon's Unix socket. */
export function unixConnector(path: string): Connector {
  return async () => {
    // A full listen backlog gives EAGAIN on a non-blocking connect, where C's
    // blocking connect() would just wait: retry for a while.
    for (let attempt = 0; ; attempt++) {
      try {
        return await connectOnce(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 200) throw connectError(path, e as NodeJS.ErrnoException);
        await new Promise((r) => setTimeout(r, Math.min(50, 1 + attempt)));
      }
    }
  };
}

function connectOnce(path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = netConnect(path);
    s.once('connect', () => {
      s.removeListener('error', reject);
      s.on('error', () => undefined);
      resolve({ input: s, output: s, destroy: () => s.destroy() });
    });
    s.once('error', reject);
  });
}

function connectError(path: string, e: NodeJS.ErrnoException): NixError {
  const why = e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message;
  return new NixError(ProtocolErrorCode.E_PROTOCOL_CONNECT, `cannot connect to socket at '${path}': ${why}`);
}

/** Run a command that speaks the protocol on its stdio (`nix-daemon --stdio`, ssh-ng). */
export function commandConnector(cmd: string, env?: NodeJS.ProcessEnv): Connector {
  return async () => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'inherit'], env: env ?? process.env });
    child.on('error', () => undefined);
    child.stdin.on('error', () => undefined);
    return { input: child.stdout, output: child.stdin, destroy: () => child.kill() };
  };
}

export interface ClientOptions {
  logger?: Logger;
  /** Send SetOptions after the handshake (Unix-socket clients do, ssh-ng does not). */
  sendOptions?: boolean;
  verbosity?: VerbosityLevel;
  /** Setting overrides sent with SetOptions. */
  overrides?: [string, string][];
}

export class ClientConnection {
  readonly reader: WireReader;
  readonly sink: SocketSink;
  info!: ClientHandshake;
  /** False once the stream state is unknown; such a connection is discarded. */
  good = true;
  /** Daemon activity id → our logger's id. */
  private readonly activities = new Map<bigint, number>();

  constructor(
    readonly transport: Duplex,
    readonly opts: ClientOptions,
  ) {
    this.reader = new WireReader(new StreamChunkSource(transport.input));
    this.sink = new SocketSink(transport.output);
  }

  get minor(): number {
    return this.info.minor;
  }

  async init(): Promise<void> {
    this.info = await handshakeClient(this.reader, this.sink);
    if (this.opts.sendOptions !== false) {
      const w = new WireWriter().u64(Op.SetOptions);
      // keepFailed, keepGoing, tryFallback, verbosity, maxBuildJobs, maxSilentTime,
      // useBuildHook, verboseBuild, logType, printBuildTrace, buildCores, useSubstitutes
      for (const v of [0, 0, 0, this.opts.verbosity ?? Verbosity.Info, 1, 0, 1, Verbosity.Error, 0, 0, 0, 1]) w.u64(v);
      if (this.minor >= 12) w.stringMap(this.opts.overrides ?? []);
      await this.send(w);
      await this.processStderr();
    }
  }

  async send(w: WireWriter): Promise<void> {
    this.sink.write(w.take());
    await this.sink.flush();
  }

  /**
   * Read log messages until STDERR_LAST (returns) or STDERR_ERROR (throws).
   * `upload` answers STDERR_READ; `download` receives STDERR_WRITE data.
   */
  async processStderr(io: { upload?: () => Promise<Uint8Array>; download?: (b: Uint8Array) => void } = {}): Promise<void> {
    const log = this.opts.logger;
    for (;;) {
      const code = await this.reader.u64();
      switch (code) {
        case STDERR_LAST:
          return;
        case STDERR_ERROR: {
          const e = await this.reader.parse((p) => readErrorRecord(p, this.minor));
          throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, e.message, { exitCode: e.status, traces: e.traces });
        }
        case STDERR_NEXT: {
          const s = await this.reader.string();
          log?.log(Verbosity.Error, s.replace(/\n$/, ''));
          break;
        }
        case STDERR_START_ACTIVITY: {
          const a = await this.reader.parse((p) => {
            const id = p.u64Big();
            const level = p.u64();
            const type = p.u64();
            const text = p.string();
            return { id, level, type, text, fields: readFields(p), parent: p.u64Big() };
          });
          const parent = this.activities.get(a.parent) ?? 0;
          const local = log ? log.startActivity(a.type, a.text, a.fields, parent, Math.min(a.level, 7) as VerbosityLevel) : 0;
          this.activities.set(a.id, local);
          break;
        }
        case STDERR_STOP_ACTIVITY: {
          const id = await this.reader.parse((p) => p.u64Big());
          const local = this.activities.get(id);
          this.activities.delete(id);
          if (local !== undefined) log?.stopActivity(local);
          break;
        }
        case STDERR_RESULT: {
          const r = await this.reader.parse((p) => ({ id: p.u64Big(), type: p.u64(), fields: readFields(p) }));
          const local = this.activities.get(r.id);
          if (local !== undefined) log?.result(local, r.type, r.fields);
          break;
        }
        case STDERR_READ: {
          const max = await this.reader.u64();
          if (!io.upload) throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, 'no source');
          const chunk = await io.upload();
          await this.send(new WireWriter(chunk.length + 16).string(chunk.subarray(0, max)));
          break;
        }
        case STDERR_WRITE: {
          const b = await this.reader.bytes();
          if (!io.download) throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, 'no sink');
          io.download(b);
          break;
        }
        default:
          this.good = false;
          throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, `got unknown message type ${code.toString(16)} from Nix daemon`);
      }
    }
  }

  close(): void {
    this.good = false;
    this.transport.destroy();
  }
}

function readFields(p: WireParser): (number | string)[] {
  const n = p.u64();
  const out: (number | string)[] = [];
  for (let i = 0; i < n; i++) {
    const kind = p.u64();
    if (kind === 0) out.push(Number(p.u64Big()));
    else if (kind === 1) out.push(p.string());
    else throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, `unsupported field type ${kind}`);
  }
  return out;
}

/**
 * The worker-protocol handshake (daemon.cc `processConnection`,
 * remote-store.cc `initConnection`), spec §4. We advertise 1.37 and accept
 * clients 1.21–1.37 (newer ones negotiate down to 1.37 without the 1.38
 * feature exchange). Bad magic or a too-old client: the connection is closed
 * without a message, as 2.8 does.
 */
import { NixError } from '../../core/index.js';
import { WireWriter } from '../../formats/index.js';
import { ProtocolErrorCode } from '../errors.js';
import type { ServeOptions } from './connection.js';
import type { WireReader } from './reader.js';
import type { ByteSink } from './tunnel-logger.js';
import { readErrorRecord } from './serialise.js';
import {
  MIN_CLIENT_VERSION,
  NIX_VERSION,
  PROTOCOL_VERSION,
  STDERR_ERROR,
  STDERR_LAST,
  STDERR_NEXT,
  TrustFlag,
  WORKER_MAGIC_1,
  WORKER_MAGIC_2,
  formatVersion,
  minorOf,
} from './version.js';

/** Returns the negotiated minor version. */
export async function handshakeServer(r: WireReader, sink: ByteSink, opts: ServeOptions): Promise<number> {
  const magic = await r.parse((p) => p.u64Big());
  if (magic !== BigInt(WORKER_MAGIC_1)) throw new NixError(ProtocolErrorCode.E_PROTOCOL_BAD_MAGIC, 'protocol mismatch');
  sink.write(new WireWriter(16).u64(WORKER_MAGIC_2).u64(PROTOCOL_VERSION).take());
  await sink.flush();
  const clientVersion = await r.u32();
  if (clientVersion >> 8 !== 1 || clientVersion < MIN_CLIENT_VERSION) {
    throw new NixError(ProtocolErrorCode.E_PROTOCOL_VERSION, `client version ${formatVersion(clientVersion)} is too old`);
  }
  const minor = Math.min(minorOf(clientVersion), minorOf(PROTOCOL_VERSION));
  if (minor >= 14) {
    if ((await r.u64()) !== 0) await r.u64(); // CPU affinity: ignored
  }
  if (minor >= 11) await r.u64(); // reserveSpace: obsolete
  const w = new WireWriter();
  if (minor >= 33) w.string(opts.nixVersion ?? NIX_VERSION);
  if (minor >= 35) w.u64(opts.recursive ? TrustFlag.NotTrusted : opts.trusted ? TrustFlag.Trusted : TrustFlag.NotTrusted);
  w.u64(STDERR_LAST);
  sink.write(w.take());
  await sink.flush();
  return minor;
}

export interface ClientHandshake {
  minor: number;
  daemonVersion?: string;
  trusted?: boolean;
}

/** Client side; the caller has not sent anything yet. */
export async function handshakeClient(r: WireReader, sink: ByteSink): Promise<ClientHandshake> {
  sink.write(new WireWriter(8).u64(WORKER_MAGIC_1).take());
  await sink.flush();
  const magic = await r.parse((p) => p.u64Big());
  if (magic !== BigInt(WORKER_MAGIC_2)) throw new NixError(ProtocolErrorCode.E_PROTOCOL_BAD_MAGIC, 'protocol mismatch');
  const serverVersion = await r.u32();
  if (serverVersion >> 8 !== 1) throw new NixError(ProtocolErrorCode.E_PROTOCOL_VERSION, 'Nix daemon protocol version not supported');
  if (minorOf(serverVersion) < 21) throw new NixError(ProtocolErrorCode.E_PROTOCOL_VERSION, 'the Nix daemon version is too old');
  const minor = Math.min(minorOf(serverVersion), minorOf(PROTOCOL_VERSION));
  sink.write(new WireWriter(24).u64(PROTOCOL_VERSION).u64(0).u64(0).take());
  await sink.flush();
  const res: ClientHandshake = { minor };
  if (minor >= 33) res.daemonVersion = await r.string(1024);
  if (minor >= 35) {
    const t = await r.u64();
    if (t === TrustFlag.Trusted) res.trusted = true;
    else if (t === TrustFlag.NotTrusted) res.trusted = false;
  }
  // Startup messages end with LAST, or ERROR if the daemon refused us.
  for (;;) {
    const code = await r.u64();
    if (code === STDERR_LAST) break;
    if (code === STDERR_NEXT) {
      await r.string();
      continue;
    }
    if (code === STDERR_ERROR) {
      const e = await r.parse((p) => readErrorRecord(p, minor));
      throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, e.message);
    }
    throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, `got unknown message type ${code.toString(16)} from Nix daemon`);
  }
  return res;
}

/**
 * Peer credentials of a Unix-socket connection (SO_PEERCRED, as nix-daemon's
 * `getPeerInfo`). Node has no API for it, so we call libc `getsockopt` through
 * koffi (a maintained FFI with prebuilt binaries). If koffi or the fd is not
 * available the peer is unknown, which the daemon treats as untrusted.
 */
import { createRequire } from 'node:module';
import type { PeerCredentials } from './worker/connection.js';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetSockOpt = (fd: number, level: number, name: number, buf: Buffer, len: number[]) => number;
let getsockopt: GetSockOpt | null | undefined;

function load(): GetSockOpt | null {
  if (getsockopt !== undefined) return getsockopt;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(lib: string): { func(sig: string): GetSockOpt };
    };
    getsockopt = koffi.load('libc.so.6').func('int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)');
  } catch {
    getsockopt = null;
  }
  return getsockopt;
}

/** uid/gid/pid of the process at the other end of `socket`, if knowable. */
export function getPeerCredentials(socket: unknown): PeerCredentials | undefined {
  if (process.platform !== 'linux') return undefined;
  const fd = (socket as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const f = load();
  if (!f) return undefined;
  const buf = Buffer.alloc(12);
  const len = [12];
  if (f(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0 || len[0] !== 12) return undefined;
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}

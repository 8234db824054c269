/**
 * The daemon's short way for the most frequent request, a QueryPathInfo whose
 * answer is in the connection's cache (2.8 answers it from its per-process
 * `pathInfoCache`): a whole request is recognised from the raw bytes and
 * answered with the cached bytes in one write, with no operation object,
 * promise or parse. The session offers it each chunk that arrives while it
 * waits for the next request (so an answer needs no turn of the session's
 * async loop) and whatever is already buffered. Anything else (another
 * opcode, a request not yet whole, an uncached path, odd encoding such as
 * non-zero padding) is left untouched for the general loop, which reports
 * errors as usual.
 */
import type { SocketSink } from './connection.js';
import { Op } from './ops.js';
import type { PathInfoCache } from './path-info-cache.js';

/** Longest store path we look up (as `readStorePath`). */
const MAX_PATH = 4096;

const latin1 = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/** Whether bytes `[at, at+n)` of `b` are all zero. */
function zeros(b: Uint8Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[at + i] !== 0) return false;
  return true;
}

/** Answer the request at `b[at…]` from `cache`: the bytes it took, 0 if not possible. */
function answerOne(b: Uint8Array, at: number, sink: SocketSink, cache: PathInfoCache): number {
  const end = b.length;
  if (end - at < 16 || b[at] !== Op.QueryPathInfo || !zeros(b, at + 1, 7)) return 0;
  const len = b[at + 8]! | (b[at + 9]! << 8) | (b[at + 10]! << 16);
  if (b[at + 11] !== 0 || !zeros(b, at + 12, 4) || len > MAX_PATH) return 0;
  const pad = (8 - (len % 8)) % 8;
  const total = 16 + len + pad;
  if (end - at < total || !zeros(b, at + 16 + len, pad)) return 0;
  // Store paths are ASCII: a name with other bytes decodes to a key no entry has.
  const answer = cache.get(latin1.call(b, at + 16, at + 16 + len));
  if (answer === undefined) return 0;
  sink.writeNow(answer);
  return total;
}

/**
 * Answer the cached QueryPathInfo requests that start `b[at…]`, stopping at
 * the first other one or when the peer stops reading: the bytes consumed.
 * Never throws (it runs in the socket's event handler): a request whose
 * lookup fails is left to the general loop, which reports the error.
 */
export function answerCachedQueryPathInfos(b: Uint8Array, at: number, sink: SocketSink, cache: PathInfoCache): number {
  let n = 0;
  while (!sink.congested) {
    let k: number;
    try {
      k = answerOne(b, at + n, sink, cache);
    } catch {
      k = 0;
    }
    if (k === 0) break;
    n += k;
  }
  return n;
}

/**
 * The daemon's short way for its two most frequent requests, answered
 * synchronously from the raw bytes with no operation object, promise or
 * async parse. The session offers it each chunk that arrives while it waits
 * for the next request (so an answer needs no turn of the session's async
 * loop) and whatever is already buffered.
 * - A QueryPathInfo whose answer is in the connection's cache (2.8 answers
 *   it from its per-process `pathInfoCache`): the cached bytes in one write.
 * - A framed AddToStoreNar (≥ 1.23) that arrived whole, for a store that can
 *   add it without waiting (`Store.addToStoreNarSync`: a small single-file
 *   NAR whose temp root and path lock are to be had at once): the same
 *   checks and the same store work as the general handler, then
 *   STDERR_LAST.
 * Anything else (another opcode, a request not yet whole, an uncached path,
 * odd encoding such as non-zero padding, an add the store declines, any
 * error) is left untouched for the general loop, which does it again and
 * reports errors as usual.
 */
import type { Settings } from '../../core/index.js';
import { WireParser, WireWriter, type StoreDir } from '../../formats/index.js';
import type { AddToStoreNarOptions, ValidPathInfo } from '../../store/store.js';
import type { SocketSink } from './connection.js';
import { Op } from './ops.js';
import { bumpPathInfoGeneration, type PathInfoCache } from './path-info-cache.js';
import { readPathInfo } from './serialise.js';
import { admitUpload } from './sig-check.js';
import { STDERR_LAST } from './version.js';

/** What the short way needs of the session; a member left out turns its request kind off. */
export interface FastOps {
  sink: SocketSink;
  /** Cached QueryPathInfo answers (clients ≥ 1.17). */
  cache?: PathInfoCache;
  /** The store's `addToStoreNarSync`, bound (clients ≥ 1.23, whose NAR is framed). */
  addNar?: (info: ValidPathInfo, nar: Uint8Array, opts: AddToStoreNarOptions) => boolean;
  sd: StoreDir;
  trusted: boolean;
  settings: Settings | undefined;
}

const LAST = new WireWriter(8).u64(STDERR_LAST).take();
/** A whole upload larger than this is left to the general (streaming) handler. */
const MAX_FAST_NAR = 1 << 20;

/** Longest store path we look up (as `readStorePath`). */
const MAX_PATH = 4096;

const latin1 = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/** Whether bytes `[at, at+n)` of `b` are all zero. */
function zeros(b: Uint8Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[at + i] !== 0) return false;
  return true;
}

/** Answer the request at `b[at…]` from `cache`: the bytes it took, 0 if not possible. */
function answerQueryPathInfo(b: Uint8Array, at: number, sink: SocketSink, cache: PathInfoCache): number {
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
 * The AddToStoreNar at `b[at…]`, if whole (request, frames, terminator) and
 * the store adds it at once: the bytes it took, else 0 with nothing sent.
 * As the general handler (server-ops-add.ts `addNar`): an untrusted client's
 * info is not ultimate, its signatures are always checked, and it may not
 * repair (left to the general handler, which refuses it).
 */
function addNarWhole(b: Uint8Array, at: number, f: FastOps): number {
  if (b.length - at < 16 || b[at] !== Op.AddToStoreNar || !zeros(b, at + 1, 7)) return 0;
  const p = new WireParser(b, at + 8);
  const info = readPathInfo(p, f.sd, 16);
  const repair = p.bool();
  const dontCheckSigs0 = p.bool();
  if (repair) return 0;
  // The frames: almost always one, a view then; several are joined.
  let nar: Uint8Array | undefined;
  let parts: Uint8Array[] | undefined;
  let size = 0;
  for (;;) {
    const n = p.u64();
    if (n === 0) break;
    if ((size += n) > MAX_FAST_NAR) return 0;
    const frame = p.raw(n);
    if (nar === undefined) nar = frame;
    else (parts ??= [nar]).push(frame);
  }
  if (nar === undefined) return 0;
  if (parts !== undefined) nar = Buffer.concat(parts);
  const dontCheckSigs = admitUpload(f.sd, info, f.trusted, dontCheckSigs0, f.settings);
  // As the general loop, around the change: no cache keeps an answer read before it ended.
  bumpPathInfoGeneration();
  let done: boolean;
  try {
    done = f.addNar!(info, nar, { repair: false, dontCheckSigs });
  } finally {
    bumpPathInfoGeneration();
  }
  if (!done) return 0;
  f.sink.writeNow(LAST);
  return p.pos - at;
}

function answerOne(b: Uint8Array, at: number, f: FastOps): number {
  if (f.cache !== undefined && b[at] === Op.QueryPathInfo) return answerQueryPathInfo(b, at, f.sink, f.cache);
  if (f.addNar !== undefined && b[at] === Op.AddToStoreNar) return addNarWhole(b, at, f);
  return 0;
}

/**
 * Answer the requests that start `b[at…]` the short way, stopping at the
 * first other one or when the peer stops reading: the bytes consumed.
 * Never throws (it runs in the socket's event handler): a request that fails
 * here (a short read included) is left to the general loop, which does it
 * again and reports the error.
 */
export function answerFast(b: Uint8Array, at: number, f: FastOps): number {
  let n = 0;
  while (!f.sink.congested && at + n < b.length) {
    let k: number;
    try {
      k = answerOne(b, at + n, f);
    } catch {
      k = 0;
    }
    if (k === 0) break;
    n += k;
  }
  return n;
}

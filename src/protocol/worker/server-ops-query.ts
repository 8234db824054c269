/**
 * Query operations of the daemon (daemon.cc `performOp`): validity, path
 * info, referrers, derivers, output maps, hash parts, substitutes (we have
 * none to offer: the daemon's substituters are the store's business).
 * Each handler parses its whole request, calls `startWork`, then answers.
 */
import { NixError } from '../../core/index.js';
import { StoreErrorCode, type Store } from '../../store/index.js';
import { WireWriter, type StorePath } from '../../formats/index.js';
import type { Conn } from './connection.js';
import { ProtocolErrorCode } from '../errors.js';
import { Op } from './ops.js';
import { STDERR_LAST } from './version.js';
import { readStorePath, readStorePaths, writePathInfoBody, writeStorePaths, MAX_LIST } from './serialise.js';

export type Handler = (c: Conn) => Promise<void>;

export async function readPath(c: Conn): Promise<StorePath> {
  return c.reader.parse((p) => readStorePath(p, c.sd));
}

function notValid(c: Conn, p: StorePath): NixError {
  return new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${c.sd.print(p)}' is not valid`);
}

export function unsupported(store: Store, op: string): NixError {
  return new NixError(ProtocolErrorCode.E_PROTOCOL_UNSUPPORTED, `operation '${op}' is not supported by store '${store.constructor.name}'`);
}

async function pathInfoOrThrow(c: Conn, p: StorePath) {
  const info = await c.store.queryPathInfo(p);
  if (!info) throw notValid(c, p);
  return info;
}

export const queryOps: Record<number, Handler> = {
  [Op.IsValidPath]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    c.reply.bool(await c.store.isValidPath(p));
  },
  [Op.HasSubstitutes]: async (c) => {
    await readPath(c);
    c.startWork();
    c.reply.bool(false);
  },
  [Op.QuerySubstitutablePaths]: async (c) => {
    await c.reader.parse((p) => readStorePaths(p, c.sd));
    c.startWork();
    c.reply.u64(0);
  },
  [Op.QuerySubstitutablePathInfo]: async (c) => {
    await readPath(c);
    c.startWork();
    c.reply.u64(0);
  },
  [Op.QuerySubstitutablePathInfos]: async (c) => {
    if (c.minor < 22) await c.reader.parse((p) => readStorePaths(p, c.sd));
    else await c.reader.parse((p) => p.stringMap(MAX_LIST).map(([k]) => c.sd.parse(k)));
    c.startWork();
    c.reply.u64(0);
  },
  [Op.QueryPathHash]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    c.reply.string((await pathInfoOrThrow(c, p)).narHash.base16);
  },
  [Op.QueryReferences]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    writeStorePaths(c.reply, c.sd, (await pathInfoOrThrow(c, p)).references);
  },
  [Op.QueryDeriver]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    const d = (await pathInfoOrThrow(c, p)).deriver;
    c.reply.string(d ? c.sd.print(d) : '');
  },
  [Op.QueryReferrers]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    writeStorePaths(c.reply, c.sd, await c.store.queryReferrers(p));
  },
  [Op.QueryValidDerivers]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    writeStorePaths(c.reply, c.sd, await c.store.queryValidDerivers(p));
  },
  [Op.QueryDerivationOutputs]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    const m = await c.store.queryDerivationOutputMap(p);
    writeStorePaths(c.reply, c.sd, [...m.values()].filter((x): x is StorePath => x !== undefined));
  },
  [Op.QueryDerivationOutputNames]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    const m = await c.store.queryDerivationOutputMap(p);
    c.reply.strings([...m.keys()].sort());
  },
  [Op.QueryDerivationOutputMap]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    const m = await c.store.queryDerivationOutputMap(p);
    const entries = [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    c.reply.u64(entries.length);
    for (const [name, out] of entries) c.reply.string(name).string(out ? c.sd.print(out) : '');
  },
  [Op.QueryAllValidPaths]: async (c) => {
    c.startWork();
    writeStorePaths(c.reply, c.sd, await c.store.queryAllValidPaths());
  },
  [Op.QueryPathInfo]: async (c) => {
    const p = await readPath(c);
    c.startWork();
    const cache = c.state.pathInfos;
    const printed = c.sd.print(p);
    const cached = c.minor >= 17 ? cache?.get(printed) : undefined;
    if (cached !== undefined) {
      c.reply.raw(cached.subarray(8)); // the STDERR_LAST is sent by the loop
      return;
    }
    const readAt = cache?.mark() ?? 0;
    const info = await c.store.queryPathInfo(p);
    if (!info) {
      if (c.minor < 17) throw notValid(c, p);
      c.reply.bool(false);
      return;
    }
    const w = new WireWriter();
    if (c.minor >= 17) w.bool(true);
    writePathInfoBody(w, c.sd, info, c.minor);
    c.reply.raw(w.bytes());
    if (cache !== undefined && c.minor >= 17) {
      // Cached answers all have the ≥ 1.17 form (we accept ≥ 1.21 clients anyway).
      const a = new WireWriter(w.length + 8).u64(STDERR_LAST).raw(w.bytes()).take();
      cache.set(printed, Buffer.from(a.buffer, a.byteOffset, a.length), readAt);
    }
  },
  [Op.QueryPathFromHashPart]: async (c) => {
    const hashPart = await c.reader.string(4096);
    c.startWork();
    const p = /^[0-9a-df-np-sv-z]{32}$/.test(hashPart) ? await c.store.queryPathFromHashPart(hashPart) : undefined;
    c.reply.string(p ? c.sd.print(p) : '');
  },
  [Op.QueryValidPaths]: async (c) => {
    const paths = await c.reader.parse((p) => readStorePaths(p, c.sd));
    const substitute = c.minor >= 27 ? await c.reader.bool() : false;
    c.startWork();
    writeStorePaths(c.reply, c.sd, await c.store.queryValidPaths(paths, { substitute }));
  },
  [Op.QueryRealisation]: async (c) => {
    await c.reader.string(4096);
    c.startWork();
    // No realisations are recorded (ca-derivations is not supported): the empty set.
    c.reply.u64(0);
  },
};

/**
 * The query and transfer commands of `nix-store --serve` (nix-store.cc
 * `opServe`, Nix 2.8): QueryValidPaths, QueryPathInfos, DumpStorePath,
 * ImportPaths, ExportPaths, QueryClosure and AddToStoreNar, with 2.8's
 * `--write` gates and error texts. Replies are plain wire values with no
 * framing or stderr channel: any error ends the session (the caller reports it).
 */
import { NixError } from '../../core/index.js';
import { WireWriter, parseContentAddress, parseHash } from '../../formats/index.js';
import type { ValidPathInfo } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import { DrainableSource } from '../worker/nar-stream.js';
import { MAX_LIST, writeStorePaths } from '../worker/serialise.js';
import { receiveImport, sendExport } from './export-stream.js';
import { pathSet, type ServeSession } from './session.js';
import { ServeCommand } from './version.js';

export type ServeHandler = (s: ServeSession) => Promise<void>;

async function queryValidPaths(s: ServeSession): Promise<void> {
  const lock = (await s.readInt()) !== 0;
  const substitute = (await s.readInt()) !== 0;
  const paths = pathSet(await s.readPaths());
  if (lock && s.opts.writeAllowed) for (const p of paths) await s.store.addTempRoot(p);
  // `substitute`: tix has no substituters, so 2.8's substitutePaths would find nothing to fetch.
  void substitute;
  s.send(writeStorePaths(new WireWriter(64), s.sd, await s.store.queryValidPaths(paths)));
}

function writeInfo(w: WireWriter, s: ServeSession, info: ValidPathInfo): void {
  w.string(s.sd.print(info.path)).string(info.deriver ? s.sd.print(info.deriver) : '');
  writeStorePaths(w, s.sd, info.references);
  w.u64(info.narSize).u64(info.narSize); // download size: uncompressed, as 2.8
  if (s.minor >= 4) w.string(info.narHash.toString('base32', true)).string(info.ca ?? '').strings([...new Set(info.sigs)].sort());
}

async function queryPathInfos(s: ServeSession): Promise<void> {
  const paths = pathSet(await s.readPaths());
  const w = new WireWriter(256);
  for (const p of paths) {
    const info = await s.store.queryPathInfo(p);
    if (info !== undefined) writeInfo(w, s, info);
  }
  s.send(w.string(''));
}

async function dumpStorePath(s: ServeSession): Promise<void> {
  const path = await s.readPath();
  if (!(await s.store.isValidPath(path))) {
    throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `path '${s.sd.print(path)}' is not valid`);
  }
  for await (const chunk of s.store.narFromPath(path)) await s.sendChunk(chunk);
}

async function importPaths(s: ServeSession): Promise<void> {
  s.requireWrite('importing');
  await receiveImport(s);
  s.send(new WireWriter(8).u64(1));
}

async function exportPaths(s: ServeSession): Promise<void> {
  await s.readInt(); // obsolete (was: sign)
  await sendExport(s, await s.readPaths());
}

async function queryClosure(s: ServeSession): Promise<void> {
  const includeOutputs = (await s.readInt()) !== 0;
  const paths = pathSet(await s.readPaths());
  for (const p of paths) {
    // 2.8 walks with queryPathInfo, which fails on the first invalid path.
    if (!(await s.store.isValidPath(p))) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `path '${s.sd.print(p)}' is not valid`);
  }
  const closure = await s.store.computeFSClosure(paths, { includeOutputs });
  s.send(new WireWriter(256).strings([...closure].sort()));
}

async function readAddToStoreNarInfo(s: ServeSession): Promise<ValidPathInfo> {
  const path = await s.readPath();
  const deriver = await s.readString(4096);
  const narHash = parseHash(await s.readString(1024), 'sha256');
  const references = await s.readPaths();
  const registrationTime = await s.readNum();
  const narSize = await s.readNum();
  const ultimate = (await s.readNum()) !== 0;
  const sigs = await s.reader.parse((p) => p.strings(MAX_LIST, 65536));
  const ca = await s.readString(4096);
  const info: ValidPathInfo = { path, narHash, references, registrationTime, narSize, ultimate, sigs: [...new Set(sigs)].sort() };
  if (deriver !== '') info.deriver = s.sd.parse(deriver);
  if (ca !== '') {
    parseContentAddress(ca); // 2.8's parseContentAddressOpt rejects a malformed one here
    info.ca = ca;
  }
  return info;
}

async function addToStoreNar(s: ServeSession): Promise<void> {
  s.requireWrite('importing');
  const info = await readAddToStoreNarInfo(s);
  if (info.narSize === 0) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, 'narInfo is too old and missing the narSize field');
  const nar = new DrainableSource(s.reader.readExact(info.narSize));
  await s.store.addToStoreNar(info, nar, { dontCheckSigs: true });
  // A path that was valid already is not read: skip its NAR, as 2.8's drainAll.
  await nar.drain();
  s.send(new WireWriter(8).u64(1));
}

export const serveCommands: Record<number, ServeHandler> = {
  [ServeCommand.QueryValidPaths]: queryValidPaths,
  [ServeCommand.QueryPathInfos]: queryPathInfos,
  [ServeCommand.DumpStorePath]: dumpStorePath,
  [ServeCommand.ImportPaths]: importPaths,
  [ServeCommand.ExportPaths]: exportPaths,
  [ServeCommand.QueryClosure]: queryClosure,
  [ServeCommand.AddToStoreNar]: addToStoreNar,
};

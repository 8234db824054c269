/**
 * The `nix-store --export` stream over any `Store` (store-api.cc
 * `exportPaths`/`importPaths`, Nix 2.8), as `cmdExportPaths` sends it and
 * `cmdImportPaths` receives it:
 *
 *   per path (dependencies first): u64 1, NAR, u64 0x4558494e, str path,
 *   str-list references, str deriver (or ""), u64 0 (no legacy signature);
 *   then u64 0.
 *
 * Export checks every NAR against its registered narHash as 2.8 does. Import
 * keeps one NAR in memory at a time (as 2.8), hashes it and adds it without
 * a signature check.
 */
import { NixError, concatBytes } from '../../core/index.js';
import { HashSink, WireWriter, hashBytes, type StorePath } from '../../formats/index.js';
import type { Store, ValidPathInfo } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import { copyNar } from '../worker/nar-stream.js';
import { pathSet, type ServeSession } from './session.js';

const EXPORT_MAGIC = 0x4558494e;

function invalid(store: Store, p: StorePath): NixError {
  return new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `path '${store.storeDir.print(p)}' is not valid`);
}

/**
 * 2.8 `topoSortPaths` reversed: a depth-first walk over references within
 * `paths`, in name order, emitting each path after what it refers to.
 */
export async function dependenciesFirst(store: Store, paths: StorePath[]): Promise<StorePath[]> {
  const items = new Map(pathSet(paths).map((p) => [p.baseName, p]));
  const refs = new Map<string, StorePath[]>();
  for (const [name, p] of items) refs.set(name, (await store.queryPathInfo(p))?.references ?? []);
  const out: StorePath[] = [];
  const visited = new Set<string>();
  const parents = new Set<string>();
  const visit = (p: StorePath, parent: StorePath | undefined): void => {
    if (parents.has(p.baseName)) {
      const sd = store.storeDir;
      throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `cycle detected in the references of '${sd.print(p)}' from '${sd.print(parent!)}'`);
    }
    if (visited.has(p.baseName)) return;
    visited.add(p.baseName);
    parents.add(p.baseName);
    for (const r of pathSet(refs.get(p.baseName)!)) if (r.baseName !== p.baseName && items.has(r.baseName)) visit(r, p);
    out.push(p);
    parents.delete(p.baseName);
  };
  for (const p of items.values()) visit(p, undefined);
  return out;
}

/** `exportPaths(paths, out)`. */
export async function sendExport(s: ServeSession, paths: StorePath[]): Promise<void> {
  const { store } = s;
  for (const p of await dependenciesFirst(store, paths)) {
    // The marker goes first: 2.8 finds an invalid path only when it comes to export it.
    await s.sendChunk(new WireWriter(8).u64(1).take());
    const info = await store.queryPathInfo(p);
    if (info === undefined) throw invalid(store, p);
    const h = new HashSink('sha256');
    for await (const chunk of store.narFromPath(p)) {
      h.update(chunk);
      await s.sendChunk(chunk);
    }
    const got = h.finish();
    if (!got.equals(info.narHash)) {
      throw new NixError(
        ProtocolErrorCode.E_PROTOCOL_REMOTE,
        `hash of path '${store.storeDir.print(p)}' has changed from '${info.narHash.toString('base32')}' to '${got.toString('base32')}'!`,
      );
    }
    const w = new WireWriter(256).u64(EXPORT_MAGIC).string(store.storeDir.print(p));
    w.strings(pathSet(info.references).map((r) => store.storeDir.print(r)));
    await s.sendChunk(w.string(info.deriver ? store.storeDir.print(info.deriver) : '').u64(0).take());
  }
  await s.sendChunk(new WireWriter(8).u64(0).take());
}

/** `importPaths(in, NoCheckSigs)`: returns the paths added, in stream order. */
export async function receiveImport(s: ServeSession): Promise<StorePath[]> {
  const added: StorePath[] = [];
  for (;;) {
    const n = await s.readNum();
    if (n === 0) return added;
    if (n !== 1) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, "input doesn't look like something created by 'nix-store --export'");
    const parts: Uint8Array[] = [];
    for await (const c of copyNar(s.reader)) parts.push(c.slice());
    const nar = concatBytes(parts);
    if ((await s.readInt()) !== EXPORT_MAGIC) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, 'Nix archive cannot be imported; wrong format');
    const path = await s.readPath();
    const references = await s.readPaths();
    const deriver = await s.readString(4096);
    if ((await s.readInt()) === 1) await s.readString();
    const info: ValidPathInfo = {
      path, narHash: hashBytes('sha256', nar), narSize: nar.length, references, registrationTime: 0, ultimate: false, sigs: [],
    };
    if (deriver !== '') info.deriver = s.sd.parse(deriver);
    await s.store.addToStoreNar(info, (async function* () { yield nar; })(), { dontCheckSigs: true });
    added.push(path);
  }
}

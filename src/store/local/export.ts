/**
 * `nix-store --export` / `--import` (store-api.cc `exportPaths`,
 * `importPaths`, Nix 2.8 format):
 *
 *   for each path (dependencies first): u64 1, NAR, u64 0x4558494e ("NIXE"),
 *   str path, u64 n + n×str references, str deriver (or ""), u64 0
 *   then u64 0.
 *
 * Strings are wire strings (u64 length, bytes, zero padding to 8).
 * Export refuses a path whose contents no longer match its narHash.
 */
import { NixError, fromUtf8 } from '../../core/index.js';
import { ByteReader, WireWriter, type StorePath } from '../../formats/index.js';
import { StoreErrorCode } from '../errors.js';
import { dumpPathSync } from '../nar-fs.js';
import { HashSink } from '../../formats/index.js';
import type { LocalStore } from './local-store.js';
import { deletePath, makeTempPath, randomHashPart } from './add-to-store.js';
import { restoreNarHashed } from './nar.js';

const EXPORT_MAGIC = 0x4558494e;

/** Write the export stream of `sorted` (already in dependency order). */
export function* exportPaths(store: LocalStore, sorted: readonly StorePath[]): Generator<Uint8Array> {
  for (const p of sorted) {
    const info = store.queryPathInfoSync(p);
    if (info === undefined) throw new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${store.print(p)}' is not valid`);
    yield new WireWriter(8).u64(1).take();
    const h = new HashSink('sha256');
    for (const chunk of dumpPathSync(store.print(p))) {
      h.update(chunk);
      yield new Uint8Array(chunk);
    }
    const got = h.finish();
    if (!got.equals(info.narHash)) {
      throw new NixError(
        StoreErrorCode.E_NAR_HASH_MISMATCH,
        `hash of path '${store.print(p)}' has changed from '${info.narHash.toString('base32')}' to '${got.toString('base32')}'!`,
      );
    }
    const w = new WireWriter(256);
    w.u64(EXPORT_MAGIC).string(store.print(p)).strings(info.references.map((r) => store.print(r)));
    w.string(info.deriver ? store.print(info.deriver) : '').u64(0);
    yield w.take();
  }
  yield new WireWriter(8).u64(0).take();
}

async function readU64(r: ByteReader): Promise<number> {
  const b = await r.readExact(8);
  const lo = b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! * 0x1000000);
  const hi = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! * 0x1000000);
  if (hi >= 0x200000) throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, 'number too large in export stream');
  return hi * 0x100000000 + lo;
}

async function readString(r: ByteReader, max = 1 << 20): Promise<string> {
  const n = await readU64(r);
  if (n > max) throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, 'string too long in export stream');
  const s = fromUtf8(new Uint8Array(await r.readExact(n)));
  const pad = (8 - (n % 8)) % 8;
  if (pad > 0) await r.readExact(pad);
  return s;
}

/** `importPaths`: add every path of an export stream; returns them in order. */
export async function importPaths(store: LocalStore, source: AsyncIterable<Uint8Array>): Promise<StorePath[]> {
  const r = new ByteReader(source);
  const out: StorePath[] = [];
  for (;;) {
    const n = await readU64(r);
    if (n === 0) break;
    if (n !== 1) throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, "input doesn't look like something created by 'nix-store --export'");
    const hp = randomHashPart();
    await store.tempRoots.add(`${store.storeDir.dir}/${hp}-tix-tmp`);
    const tmp = makeTempPath(store.storeDir, hp);
    try {
      const nar = await restoreNarHashed(tmp, r, 'sha256');
      if ((await readU64(r)) !== EXPORT_MAGIC) throw new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, 'Nix archive cannot be imported; wrong format');
      const path = store.storeDir.parse(await readString(r));
      const nrefs = await readU64(r);
      const references: StorePath[] = [];
      for (let i = 0; i < nrefs; i++) references.push(store.storeDir.parse(await readString(r)));
      const deriver = await readString(r);
      if ((await readU64(r)) === 1) await readString(r);
      await store.addFromTemp(tmp, {
        path, narHash: nar.narHash, narSize: nar.narSize, references, registrationTime: 0, ultimate: false, sigs: [],
        deriver: deriver !== '' ? store.storeDir.parse(deriver) : undefined,
      }, true);
      out.push(path);
    } finally {
      deletePath(tmp);
    }
  }
  return out;
}


/**
 * Upload and download operations of the daemon (daemon.cc): AddToStore (both
 * forms), AddTextToStore, AddToStoreNar (framed ≥1.23, STDERR_READ pull
 * 1.21–1.22), AddMultipleToStore, AddBuildLog, AddSignatures, NarFromPath,
 * ExportPath.
 *
 * Invariant: whatever happens in the store, the upload is consumed to its end
 * before the error is reported, so the connection stays usable.
 */
import { NixError, concatBytes } from '../../core/index.js';
import { isHashType, StorePath, WireWriter, type HashType } from '../../formats/index.js';
import type { ContentAddressMethod, ValidPathInfo } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import type { Conn } from './connection.js';
import { framedSource, iterableChunkSource, narSource, copyNar, narRegularContents, DrainableSource } from './nar-stream.js';
import { Op } from './ops.js';
import { WireReader, type ChunkSource } from './reader.js';
import { readPathInfo, readStorePaths, writePathInfo, MAX_LIST } from './serialise.js';
import { readPath, unsupported, type Handler } from './server-ops-query.js';
import { admitUpload, checkUploadSignatures } from './sig-check.js';
import { STDERR_READ, STDERR_WRITE } from './version.js';

function untrusted(what: string): NixError {
  return new NixError(ProtocolErrorCode.E_PROTOCOL_UNTRUSTED, what);
}

/**
 * Run `fn` over an upload, then drain what it left, so the next request starts
 * at the right byte. If the upload itself is malformed its end is unknown: the
 * connection is marked out of sync (`c`), or, for a NAR nested inside frames,
 * the caller drains the frames instead (`c` undefined).
 */
async function withUpload<T>(c: Conn | undefined, src: DrainableSource, fn: () => Promise<T>): Promise<T> {
  let v: T;
  try {
    v = await fn();
  } catch (e) {
    await src.drain().catch(() => undefined);
    if (src.failed && c) c.desync = true;
    throw e;
  }
  try {
    await src.drain();
  } catch (e) {
    if (c) c.desync = true;
    throw e;
  }
  return v;
}

/** `text:sha256`, `fixed:<algo>`, `fixed:r:<algo>`. */
export function parseContentAddressMethod(s: string): { method: ContentAddressMethod; hashAlgo: HashType } {
  let method: ContentAddressMethod;
  let algo: string;
  if (s.startsWith('text:')) [method, algo] = ['text', s.slice(5)];
  else if (s.startsWith('fixed:r:')) [method, algo] = ['recursive', s.slice(8)];
  else if (s.startsWith('fixed:')) [method, algo] = ['flat', s.slice(6)];
  else throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `content address method '${s}' is not supported`);
  if (!isHashType(algo)) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `unknown hash algorithm '${algo}'`);
  return { method, hashAlgo: algo };
}

async function addToStore(c: Conn): Promise<void> {
  if (c.minor >= 25) {
    const [name, cam, refs, repair] = await c.reader.parse((p) => [p.string(4096), p.string(4096), readStorePaths(p, c.sd), p.bool()] as const);
    c.startWork();
    const src = framedSource(c.reader);
    const info = await withUpload(c, src, async () => {
      const { method, hashAlgo } = parseContentAddressMethod(cam);
      if (repair && !c.trusted) throw untrusted("repairing is not allowed because you are not in 'trusted-users'");
      return c.store.addToStore({ name, method, hashAlgo, source: src, references: refs, repair });
    });
    writePathInfo(c.reply, c.sd, info, c.minor);
    return;
  }
  const [name, fixed, recursive, algo] = await c.reader.parse((p) => [p.string(4096), p.bool(), p.u64(), p.string(64)] as const);
  c.startWork();
  const src = narSource(c.reader);
  const hashAlgo = fixed ? algo : 'sha256';
  const method = !fixed || recursive === 1 ? 'recursive' : 'flat';
  const info = await withUpload(c, src, async () => {
    if (!isHashType(hashAlgo)) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `unknown hash algorithm '${hashAlgo}'`);
    if (method === 'recursive') return c.store.addToStore({ name, method, hashAlgo, source: src });
    const chunks: Uint8Array[] = [];
    for await (const ch of src) chunks.push(ch);
    const data = narRegularContents(concatBytes(chunks));
    return c.store.addToStore({ name, method, hashAlgo, source: (async function* () { yield data; })() });
  });
  c.reply.string(c.sd.print(info.path));
}

/** STDERR_READ pull: ask the client for up to 32 KiB at a time. */
function pullSource(c: Conn): ChunkSource {
  return {
    async next() {
      c.logger.writeNow(new WireWriter(16).u64(STDERR_READ).u64(32768).take());
      await c.sink.flush();
      const b = await c.reader.bytes(32768 + 8);
      if (b.length === 0) throw new NixError(ProtocolErrorCode.E_PROTOCOL_EOF, 'unexpected end-of-file');
      return b;
    },
  };
}

async function addToStoreNar(c: Conn): Promise<void> {
  const [info, repair, dontCheckSigs0] = await c.reader.parse((p) => [readPathInfo(p, c.sd, 16), p.bool(), p.bool()] as const);
  if (c.minor < 23) {
    // 1.21–1.22: the NAR is pulled with STDERR_READ; parsing it finds its end.
    c.startWork();
    const src = new DrainableSource(copyNar(new WireReader(pullSource(c))));
    await addNar(c, info, src, repair, dontCheckSigs0);
    return;
  }
  c.startWork();
  await addNar(c, info, framedSource(c.reader), repair, dontCheckSigs0);
}

async function addNar(c: Conn, info: ValidPathInfo, src: DrainableSource, repair: boolean, dontCheckSigs0: boolean): Promise<void> {
  await withUpload(c, src, async () => {
    if (repair && !c.trusted) throw untrusted("repairing is not allowed because you are not in 'trusted-users'");
    const dontCheckSigs = admitUpload(c.sd, info, c.trusted, dontCheckSigs0, c.opts.settings);
    await c.store.addToStoreNar(info, src, { repair, dontCheckSigs });
  });
}

async function addMultipleToStore(c: Conn): Promise<void> {
  const [repair, dontCheckSigs0] = await c.reader.parse((p) => [p.bool(), p.bool()] as const);
  c.startWork();
  const frames = framedSource(c.reader);
  const dontCheckSigs = c.trusted ? dontCheckSigs0 : false;
  await withUpload(c, frames, async () => {
    if (repair && !c.trusted) throw untrusted("repairing is not allowed because you are not in 'trusted-users'");
    const inner = new WireReader(iterableChunkSource(frames));
    const count = await inner.u64();
    for (let i = 0; i < count; i++) {
      const info = await inner.parse((p) => readPathInfo(p, c.sd, 16));
      info.ultimate = false;
      const nar = new DrainableSource(copyNar(inner));
      await withUpload(undefined, nar, async () => {
        if (!dontCheckSigs) checkUploadSignatures(c.sd, info, c.opts.settings);
        await c.store.addToStoreNar(info, nar, { repair, dontCheckSigs });
      });
    }
  });
}

async function addTextToStore(c: Conn): Promise<void> {
  const [name, text, refs] = await c.reader.parse((p) => [p.string(4096), p.bytes().slice(), readStorePaths(p, c.sd)] as const);
  c.startWork();
  c.reply.string(c.sd.print(await c.store.addTextToStore(name, text, refs)));
}

async function addBuildLog(c: Conn): Promise<void> {
  const base = await c.reader.string(4096);
  c.startWork();
  const src = framedSource(c.reader);
  await withUpload(c, src, async () => {
    if (!c.trusted) throw untrusted('you are not privileged to add logs');
    const drv = new StorePath(base);
    if (!drv.isDerivation()) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `path '${c.sd.print(drv)}' is not a derivation`);
    if (!c.store.addBuildLog) throw unsupported(c.store, 'addBuildLog');
    const chunks: Uint8Array[] = [];
    for await (const ch of src) chunks.push(ch);
    await c.store.addBuildLog(drv, concatBytes(chunks));
  });
  c.reply.u64(1);
}

async function addSignatures(c: Conn): Promise<void> {
  const path = await readPath(c);
  const sigs = await c.reader.parse((p) => p.strings(MAX_LIST, 65536));
  c.startWork();
  if (!c.trusted) throw untrusted('you are not privileged to add signatures');
  if (!c.store.addSignatures) throw unsupported(c.store, 'addSignatures');
  await c.store.addSignatures(path, sigs);
  c.reply.u64(1);
}

/** Stream the NAR after STDERR_LAST; validity is checked first so errors stay orderly. */
async function narFromPath(c: Conn): Promise<void> {
  const path = await readPath(c);
  c.startWork();
  if (!(await c.store.isValidPath(path))) throw new NixError('E0201', `path '${c.sd.print(path)}' is not valid`);
  const it = c.store.narFromPath(path)[Symbol.asyncIterator]();
  const first = await it.next();
  c.streaming = true;
  c.logger.stopWork();
  if (!first.done) c.sink.write(first.value);
  for (;;) {
    await c.sink.flush();
    const { value, done } = await it.next();
    if (done) break;
    c.sink.write(value);
  }
}

/** ExportPath (obsolete): the export format, streamed as STDERR_WRITE chunks. */
async function exportPath(c: Conn): Promise<void> {
  const path = await readPath(c);
  await c.reader.u64();
  c.startWork();
  const info = await c.store.queryPathInfo(path);
  if (!info) throw new NixError('E0201', `path '${c.sd.print(path)}' is not valid`);
  const send = async (b: Uint8Array): Promise<void> => {
    c.logger.writeNow(new WireWriter(b.length + 24).u64(STDERR_WRITE).string(b).take());
    await c.sink.flush();
  };
  for await (const chunk of c.store.narFromPath(path)) await send(chunk);
  const w = new WireWriter().u64(0x4558494e).string(c.sd.print(path));
  w.strings(info.references.map((r) => c.sd.print(r)).sort());
  w.string(info.deriver ? c.sd.print(info.deriver) : '').u64(0);
  await send(w.take());
  c.reply.u64(1);
}

export const addOps: Record<number, Handler> = {
  [Op.AddToStore]: addToStore,
  [Op.AddTextToStore]: addTextToStore,
  [Op.AddToStoreNar]: addToStoreNar,
  [Op.AddMultipleToStore]: addMultipleToStore,
  [Op.AddBuildLog]: addBuildLog,
  [Op.AddSignatures]: addSignatures,
  [Op.NarFromPath]: narFromPath,
  [Op.ExportPath]: exportPath,
};

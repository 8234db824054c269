/**
 * `nix-store --import` (nix-store.cc `opImport`): add the paths of an export
 * stream on stdin, print each. A daemon store gets each path as 2.8's
 * `Store::importPaths` sends it: the NAR is read into memory, hashed, and
 * added with AddToStoreNar without a signature check.
 */
import { NixError, concatBytes, fromUtf8 } from '../../core/index.js';
import { ByteReader, hashBytes, parseNar, type NarVisitor, type StorePath } from '../../formats/index.js';
import { StoreErrorCode, importPaths, type Store } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';

async function* bytes(s: NodeJS.ReadableStream): AsyncIterable<Uint8Array> {
  for await (const c of s) yield typeof c === 'string' ? Buffer.from(c) : new Uint8Array(c as Buffer);
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  for (const a of rest) throw usageError(`unknown flag '${a}'`);
  return withAnyStore(ctx, async (v) => {
    const print = (p: StorePath): void => void ctx.stdout.write(v.print(p) + '\n');
    if (v.local) for (const p of await importPaths(v.local, bytes(ctx.stdin))) print(p);
    else await importAny(v.store, bytes(ctx.stdin), print);
    return 0;
  });
}

/** Keeps what a `ByteReader` pulled, so the bytes of a NAR it parsed can be taken back out. */
class Tape {
  private chunks: Uint8Array[] = [];
  private base = 0;
  async *wrap(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const c of src) {
      this.chunks.push(c);
      yield c;
    }
  }
  /** Bytes [from, to) of the stream; drops everything before `to`. */
  take(from: number, to: number): Uint8Array {
    const all = concatBytes(this.chunks);
    const out = all.slice(from - this.base, to - this.base);
    this.chunks = [all.subarray(to - this.base)];
    this.base = to;
    return out;
  }
}

const skip: NarVisitor = { directory() {}, fileStart() {}, fileData() {}, fileEnd() {}, symlink() {} };

function badStream(msg: string): NixError {
  return new NixError(StoreErrorCode.E_NAR_HASH_MISMATCH, msg);
}

async function readU64(r: ByteReader): Promise<number> {
  const b = await r.readExact(8);
  const hi = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! * 0x1000000);
  if (hi >= 0x200000) throw badStream('number too large in export stream');
  return hi * 0x100000000 + (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! * 0x1000000));
}

async function readString(r: ByteReader): Promise<string> {
  const n = await readU64(r);
  if (n > 1 << 20) throw badStream('string too long in export stream');
  const s = fromUtf8(new Uint8Array(await r.readExact(n)));
  if (n % 8) await r.readExact(8 - (n % 8));
  return s;
}

async function importAny(store: Store, source: AsyncIterable<Uint8Array>, done: (p: StorePath) => void): Promise<void> {
  const sd = store.storeDir;
  const tape = new Tape();
  const r = new ByteReader(tape.wrap(source));
  for (;;) {
    const n = await readU64(r);
    if (n === 0) return;
    if (n !== 1) throw badStream("input doesn't look like something created by 'nix-store --export'");
    const start = r.consumed;
    await parseNar(r, skip);
    const nar = tape.take(start, r.consumed);
    if ((await readU64(r)) !== 0x4558494e) throw badStream('Nix archive cannot be imported; wrong format');
    const path = sd.parse(await readString(r));
    const references: StorePath[] = [];
    for (let i = 0, k = await readU64(r); i < k; i++) references.push(sd.parse(await readString(r)));
    const deriver = await readString(r);
    if ((await readU64(r)) === 1) await readString(r);
    const info = {
      path, narHash: hashBytes('sha256', nar), narSize: nar.length, references, registrationTime: 0, ultimate: false, sigs: [],
      deriver: deriver !== '' ? sd.parse(deriver) : undefined,
    };
    await store.addToStoreNar(info, (async function* () { yield nar; })(), { dontCheckSigs: true });
    done(path);
  }
}

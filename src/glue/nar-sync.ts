/**
 * Synchronous NAR serialisation of a filesystem path with an optional
 * filter (Nix 2.8 `dumpPath(path, sink, filter)`), for the evaluator's
 * path → store copies (`"${./p}"`, `builtins.path`, `filterSource`): the
 * evaluator is synchronous, and the filter is a Nix function that must run
 * on the evaluator's thread. Produces the sha256 NAR hash and, on request,
 * the NAR bytes (to hand to `Store.addToStore`).
 */
import * as fs from 'node:fs';
import { createHash, type Hash as NodeHash } from 'node:crypto';
import type { FileType } from '../eval/index.js';

export type PathFilter = (path: string, type: FileType) => boolean;

class NarSink {
  private readonly hash: NodeHash = createHash('sha256');
  readonly chunks: Buffer[] | null;
  size = 0;
  constructor(keep: boolean) {
    this.chunks = keep ? [] : null;
  }
  private put(b: Buffer): void {
    this.hash.update(b);
    this.chunks?.push(b);
    this.size += b.length;
  }
  u64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.put(b);
  }
  str(s: string | Buffer): void {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
    this.u64(b.length);
    this.put(b);
    const pad = (8 - (b.length % 8)) % 8;
    if (pad > 0) this.put(Buffer.alloc(pad));
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

const fsPath = (p: string) => Buffer.from(p, 'latin1');

function typeOf(st: fs.Stats): FileType {
  if (st.isFile()) return 'regular';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'unknown';
}

function dump(path: string, sink: NarSink, filter: PathFilter | undefined): void {
  const st = fs.lstatSync(fsPath(path));
  sink.str('(');
  if (st.isFile()) {
    sink.str('type');
    sink.str('regular');
    if (st.mode & 0o100) {
      sink.str('executable');
      sink.str('');
    }
    sink.str('contents');
    sink.str(fs.readFileSync(fsPath(path)));
  } else if (st.isDirectory()) {
    sink.str('type');
    sink.str('directory');
    const names = (fs.readdirSync(fsPath(path), { encoding: 'buffer' }) as Buffer[])
      .map((b) => b.toString('latin1'))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const child = `${path}/${name}`;
      if (filter && !filter(child, typeOf(fs.lstatSync(fsPath(child))))) continue;
      sink.str('entry');
      sink.str('(');
      sink.str('name');
      sink.str(name);
      sink.str('node');
      dump(child, sink, filter);
      sink.str(')');
    }
  } else if (st.isSymbolicLink()) {
    sink.str('type');
    sink.str('symlink');
    sink.str('target');
    sink.str(fs.readlinkSync(fsPath(path), { encoding: 'buffer' }) as Buffer);
  } else {
    throw new Error(`file '${path}' has an unsupported type`);
  }
  sink.str(')');
}

export interface NarDump {
  /** sha256 of the NAR. */
  sha256: Uint8Array;
  narSize: number;
  /** The NAR bytes when requested. */
  nar?: Uint8Array;
}

/** NAR-serialise `path` (a byte string), skipping what `filter` rejects. */
export function dumpPathSync(path: string, opts: { filter?: PathFilter; keepBytes?: boolean } = {}): NarDump {
  const sink = new NarSink(opts.keepBytes ?? false);
  sink.str('nix-archive-1');
  dump(path, sink, opts.filter);
  const sha256 = new Uint8Array(sink.digest());
  return { sha256, narSize: sink.size, nar: sink.chunks ? new Uint8Array(Buffer.concat(sink.chunks)) : undefined };
}

/** sha256 of a file's bytes (flat ingestion). */
export function hashFileSync(path: string): { sha256: Uint8Array; bytes: Uint8Array } {
  const bytes = new Uint8Array(fs.readFileSync(fsPath(path)));
  return { sha256: new Uint8Array(createHash('sha256').update(bytes).digest()), bytes };
}

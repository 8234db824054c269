/**
 * Views of a parsed NAR: the `.ls` listing of binary caches (Nix 2.8
 * `listNar`, JSON `{"version":1,"root":…}` with `narOffset`s) and an
 * in-memory tree (for tests and small archives).
 */
import { ByteReader } from './reader.js';
import { parseNar, type NarVisitor } from './read.js';
import type { MemTree } from './node.js';
import { jsonString } from '../derivation/json.js';
import { byteString } from '../derivation/types.js';

export type NarListingNode =
  | { type: 'regular'; size: number; executable?: true; narOffset: number }
  | { type: 'symlink'; target: string }
  /** A Map keeps Nix's byte-wise order (a plain object would move integer-like names first). */
  | { type: 'directory'; entries: Map<string, NarListingNode> };

type Dir = { type: 'directory'; entries: [Uint8Array, MemTree][] };

/** Builds a `MemTree` with exact byte names. Parsing is depth-first, so a node's parent is always the last entry added at each level. */
class TreeBuilder implements NarVisitor {
  root: MemTree | undefined;
  private file: Uint8Array[] = [];
  private fileNode: { type: 'regular'; contents: Uint8Array; executable?: boolean } | undefined;

  private place(path: readonly Uint8Array[], node: MemTree): void {
    if (path.length === 0) {
      this.root = node;
      return;
    }
    let d = this.root as Dir;
    for (let i = 0; i < path.length - 1; i++) d = d.entries[d.entries.length - 1]![1] as Dir;
    d.entries.push([path[path.length - 1]!.slice(), node]);
  }
  directory(path: readonly Uint8Array[]): void {
    this.place(path, { type: 'directory', entries: [] });
  }
  fileStart(path: readonly Uint8Array[], executable: boolean): void {
    this.fileNode = { type: 'regular', contents: new Uint8Array(0), executable };
    this.file = [];
    this.place(path, this.fileNode);
  }
  fileData(chunk: Uint8Array): void {
    this.file.push(chunk.slice());
  }
  fileEnd(): void {
    this.fileNode!.contents = new Uint8Array(Buffer.concat(this.file));
  }
  symlink(path: readonly Uint8Array[], target: Uint8Array): void {
    this.place(path, { type: 'symlink', target: target.slice() });
  }
}

/**
 * Parse a whole NAR into memory (entries as exact byte names, in archive
 * order). For small archives only.
 */
export async function narToMemTree(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<MemTree> {
  const b = new TreeBuilder();
  await parseNar(source, b);
  return b.root!;
}

/** The `.ls` listing of a NAR (names and targets decoded as UTF-8). */
export async function narListing(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ version: 1; root: NarListingNode }> {
  const reader = new ByteReader(source);
  let root: NarListingNode | undefined;
  const place = (path: readonly Uint8Array[], node: NarListingNode): void => {
    if (path.length === 0) {
      root = node;
      return;
    }
    let d = root as { entries: Map<string, NarListingNode> };
    for (const p of path.slice(0, -1)) d = d.entries.get(Buffer.from(p).toString('utf8')) as { entries: Map<string, NarListingNode> };
    // (UTF-8 decoding can merge distinct byte names; the listing format is JSON, so that is inherent.)
    d.entries.set(Buffer.from(path[path.length - 1]!).toString('utf8'), node);
  };
  await parseNar(reader, {
    directory: (path) => place(path, { type: 'directory', entries: new Map() }),
    fileStart: (path, executable, size) =>
      place(path, executable ? { type: 'regular', size, executable: true, narOffset: reader.consumed } : { type: 'regular', size, narOffset: reader.consumed }),
    fileData: () => undefined,
    fileEnd: () => undefined,
    symlink: (path, target) => place(path, { type: 'symlink', target: Buffer.from(target).toString('utf8') }),
  });
  return { version: 1, root: root! };
}

function listingNodeJson(n: NarListingNode): string {
  if (n.type === 'regular') {
    return `{"type":"regular","size":${n.size}${n.executable ? ',"executable":true' : ''},"narOffset":${n.narOffset}}`;
  }
  if (n.type === 'symlink') return `{"type":"symlink","target":${jsonString(byteString(n.target))}}`;
  const keys = [...n.entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{"type":"directory","entries":{${keys.map((k) => `${jsonString(byteString(k))}:${listingNodeJson(n.entries.get(k)!)}`).join(',')}}}`;
}

/**
 * The `.ls` file as Nix 2.8 writes it (libutil/json.cc writer: fields in
 * insertion order, compact). Returned as a byte string (latin1).
 */
export function printNarListing(l: { version: 1; root: NarListingNode }): string {
  return `{"version":1,"root":${listingNodeJson(l.root)}}`;
}

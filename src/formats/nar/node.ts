/**
 * The abstract file tree a NAR is written from (libutil/archive.cc `dumpPath`
 * reads the same three kinds from the file system).
 *
 * Sources are pull-based and synchronous so the serialiser decides the
 * buffers: a regular file is read straight into the writer's chunk buffer,
 * which keeps the hashing fast path at one copy per byte. `formats` stays
 * pure: the file-system source lives in `store/nar-fs.ts`.
 */

/** A regular file of known size, read on demand. */
export interface NarRegular {
  type: 'regular';
  executable: boolean;
  size: number;
  /**
   * Fill `into` with the bytes starting at file offset `position`; return how
   * many were written (0 means the source ended early).
   */
  read(into: Uint8Array, position: number): number;
  /** Called once reading is over (also when the write is abandoned). */
  close?(): void;
}

export interface NarSymlink {
  type: 'symlink';
  target: Uint8Array;
}

export interface NarDirEntry {
  name: Uint8Array;
  /** Resolved lazily, so a deep tree is never held in memory at once. */
  node(): NarNode;
}

export interface NarDirectory {
  type: 'directory';
  /** In any order: the writer sorts them byte-wise as NAR requires. */
  entries(): NarDirEntry[];
}

export type NarNode = NarRegular | NarSymlink | NarDirectory;

/** A regular-file node over bytes already in memory. */
export function regularFromBytes(contents: Uint8Array, executable = false): NarRegular {
  return {
    type: 'regular',
    executable,
    size: contents.length,
    read(into, position) {
      const n = Math.min(into.length, contents.length - position);
      if (n <= 0) return 0;
      into.set(contents.subarray(position, position + n));
      return n;
    },
  };
}

/** An in-memory tree description, handy for tests and for small synthetic NARs. */
export type MemTree =
  | { type: 'regular'; contents: Uint8Array; executable?: boolean }
  | { type: 'symlink'; target: Uint8Array }
  | { type: 'directory'; entries: Map<string, MemTree> | [Uint8Array, MemTree][] };

/** View a `MemTree` as a `NarNode`. Map keys are UTF-8 encoded. */
export function memTreeNode(t: MemTree): NarNode {
  if (t.type === 'regular') return regularFromBytes(t.contents, t.executable ?? false);
  if (t.type === 'symlink') return t;
  const list: [Uint8Array, MemTree][] =
    t.entries instanceof Map ? [...t.entries].map(([k, v]) => [new Uint8Array(Buffer.from(k, 'utf8')), v]) : t.entries;
  return {
    type: 'directory',
    entries: () => list.map(([name, sub]) => ({ name, node: () => memTreeNode(sub) })),
  };
}

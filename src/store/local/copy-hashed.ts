/**
 * A flat add's copy (`nix-store --add-fixed`, `builtins.path` with
 * `recursive = false`): the file is copied while its contents hash and its
 * NAR hash are computed, in one pass (Nix's `addToStoreFromDump` tees the
 * dump of the source into the hash sink and `restorePath` the same way).
 * Trees go through copy-tree.ts.
 *
 * The NAR view of the source is wrapped so that every byte the NAR writer
 * reads from a source file is also written to the copy, and directories and
 * symlinks are created as the walk reaches them. So the hash is of exactly
 * the bytes written: a file that grows during the copy is cut at the size
 * the NAR records, one that shrinks fails the add (as in `dumpPath`).
 * Modes are the NAR's (0755 for executables, else 0644; 0755 dirs):
 * `moveIntoPlace` canonicalises them afterwards.
 */
import { closeSync, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { HashSink, type Hash, type NarNode, type HashType } from '../../formats/index.js';
import { NixError } from '../../core/index.js';
import { StoreErrorCode } from '../errors.js';
import { fsNode, hashNode, type PathHash } from '../nar-fs.js';

const SLASH = Buffer.from('/');

function tee(node: NarNode, dst: Buffer): NarNode {
  switch (node.type) {
    case 'symlink':
      symlinkSync(Buffer.from(node.target), dst);
      return node;
    case 'directory':
      mkdirSync(dst, 0o755);
      return {
        type: 'directory',
        entries: () => node.entries().map((e) => ({
          name: e.name,
          node: () => tee(e.node(), Buffer.concat([dst, SLASH, e.name])),
        })),
      };
    case 'regular': {
      let fd: number | undefined = openSync(dst, 'wx', node.executable ? 0o755 : 0o644);
      return {
        type: 'regular',
        executable: node.executable,
        size: node.size,
        read(into, position) {
          const n = node.read(into, position);
          for (let off = 0; off < n;) off += writeSync(fd!, into, off, n - off);
          return n;
        },
        close() {
          node.close?.();
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
        },
      };
    }
  }
}

/**
 * A flat add's one pass: copy the regular file `src` to `dst` (mode 0644, or
 * 0755 when `executable`), hashing its contents with `algo` (the content
 * address) and, at the same time, the NAR of the copy (its narHash).
 */
export function copyFileHashed(src: string, dst: string, algo: HashType, executable: boolean): PathHash & { fileHash: Hash } {
  const node = fsNode(src);
  if (node.type === 'directory') throw new NixError(StoreErrorCode.E_NOT_IN_STORE, 'reading from file: Is a directory');
  if (node.type !== 'regular') throw new NixError(StoreErrorCode.E_NOT_IN_STORE, `file '${src}' is not a regular file`);
  const sink = new HashSink(algo);
  const copy = tee({ ...node, executable, read: node.read.bind(node), close: node.close?.bind(node) }, Buffer.from(dst, 'utf8'));
  if (copy.type !== 'regular') throw new Error('Assertion failed: regular copy');
  const r = hashNode({
    ...copy,
    read(into, position) {
      const n = copy.read(into, position);
      sink.update(into.subarray(0, n));
      return n;
    },
    close: copy.close?.bind(copy),
  });
  return { ...r, fileHash: sink.finish() };
}

/**
 * Seeded random file trees for the formats differential tests and the NAR
 * fuzzer: empty and large files, executables, symlinks (dangling, absolute,
 * long), deep chains, unicode and non-UTF-8 names.
 */
import { mkdirSync, writeFileSync, symlinkSync, chmodSync } from 'node:fs';
import { mulberry32 } from '../harness/index.js';

export const rng = mulberry32;

const NAME_POOL: (string | Buffer)[] = [
  'a', 'b', 'Z', '_', '10', '9', '.dot', '..x', 'A-b', 'with space', 'é', 'naïve', '日本語', '🙂', 'x'.repeat(200),
  'tab\tname', 'new\nline', 'q"uote', 'back\\slash', '-dash', '+plus', 'README.md', 'lib', 'bin', 'a.b.c',
  Buffer.from([0xff, 0xfe]), Buffer.from([0x80]), Buffer.from([0x61, 0xc3]), Buffer.from([0xe9, 0x74, 0xe9]),
];

export interface TreeOptions {
  maxDepth?: number;
  maxEntries?: number;
  bigFiles?: boolean;
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from('/'), name]);
}

function makeFile(r: () => number, path: Buffer, big: boolean): void {
  const kind = r();
  const size = kind < 0.2 ? 0 : kind < 0.85 ? (r() * 300) | 0 : big && kind > 0.97 ? 200_000 + ((r() * 100_000) | 0) : (r() * 9000) | 0;
  writeFileSync(path, randomBytes(r, size));
  chmodSync(path, r() < 0.3 ? 0o755 : r() < 0.1 ? 0o700 : 0o644);
}

function makeSymlink(r: () => number, path: Buffer): void {
  const targets = ['a', '../b', '/nix/store/qa1w9gdfrba6jl2r57mb3c43863gqywp-hello.txt', 'dangling/x', '.', 'é', 'y'.repeat(1000)];
  symlinkSync(Buffer.from(pick(r, targets)), path);
}

function makeDir(r: () => number, path: Buffer, depth: number, o: Required<TreeOptions>): void {
  mkdirSync(path);
  const n = depth > o.maxDepth ? 0 : (r() * o.maxEntries) | 0;
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const nm = pick(r, NAME_POOL);
    const name = typeof nm === 'string' ? Buffer.from(nm + (r() < 0.3 ? String(i) : ''), 'utf8') : nm;
    const key = name.toString('hex');
    if (used.has(key)) continue;
    used.add(key);
    const child = join(path, name);
    const k = r();
    if (k < 0.55) makeFile(r, child, o.bigFiles);
    else if (k < 0.7) makeSymlink(r, child);
    else makeDir(r, child, depth + 1, o);
  }
  if (r() < 0.15 && depth < 3) {
    // a deep chain of single directories
    let p = join(path, Buffer.from('deep'));
    mkdirSync(p);
    for (let d = 0; d < 30; d++) {
      p = join(p, Buffer.from(String(d % 3)));
      mkdirSync(p);
    }
    writeFileSync(join(p, Buffer.from('leaf')), 'leaf');
  }
}

/** Create tree number `seed` at `path` (which must not exist). Sometimes the top is a file or symlink. */
export function makeTree(path: string, seed: number, opts: TreeOptions = {}): void {
  const o: Required<TreeOptions> = { maxDepth: opts.maxDepth ?? 4, maxEntries: opts.maxEntries ?? 8, bigFiles: opts.bigFiles ?? true };
  const r = rng(seed);
  const top = r();
  const p = Buffer.from(path);
  if (top < 0.08) makeFile(r, p, o.bigFiles);
  else if (top < 0.12) makeSymlink(r, p);
  else makeDir(r, p, 0, o);
}

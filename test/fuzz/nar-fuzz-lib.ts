/**
 * NAR parser fuzzing: mutate valid archives and restore each one with tix.
 * Every case must either be rejected with a NixError or restore to the same
 * tree as the reference `nix-store --restore`; nothing may appear outside
 * the target, throw a non-NixError, or hang.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { memTreeNode, serialiseNar, type MemTree } from '../../src/formats/index.js';
import { dumpPathSync, restorePath } from '../../src/store/index.js';
import { rng } from '../differential/formats-trees.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const NAMES = ['a', 'b', 'c', 'dir', 'file', '.hidden', 'é', 'x y', 'z'.repeat(40), '\xff', 'lib', 'bin'];
const TOKENS = ['(', ')', 'type', 'regular', 'directory', 'symlink', 'entry', 'name', 'node', 'contents', 'executable', 'target', '', '.', '..', 'a/b', 'nix-archive-1'];

function randomTree(r: () => number, depth: number): MemTree {
  const k = r();
  if (depth > 3 || k < 0.35) return { type: 'regular', contents: b('x'.repeat((r() * 40) | 0)), executable: r() < 0.3 };
  if (k < 0.45) return { type: 'symlink', target: b(r() < 0.5 ? 'a' : '../t') };
  const names = [...new Set(NAMES.filter(() => r() < 0.3))];
  return { type: 'directory', entries: names.map((n) => [b(n), randomTree(r, depth + 1)] as [Uint8Array, MemTree]) };
}

export function seedArchives(seed: number, n: number): Uint8Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => serialiseNar(memTreeNode(randomTree(r, 0))));
}

function u64(n: number): Uint8Array {
  const x = Buffer.alloc(8);
  x.writeBigUInt64LE(BigInt(n));
  return new Uint8Array(x);
}

function token(s: string): Uint8Array {
  const v = Buffer.from(s, 'latin1');
  return new Uint8Array(Buffer.concat([u64(v.length), v, Buffer.alloc((8 - (v.length % 8)) % 8)]));
}

function splice(a: Uint8Array, at: number, del: number, ins: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([a.subarray(0, at), ins, a.subarray(Math.min(a.length, at + del))]));
}

/** One random mutation (sometimes several stacked). */
export function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let a: Uint8Array = src.slice();
  const rounds = 1 + ((r() * 3) | 0);
  for (let k = 0; k < rounds; k++) {
    const pos = (r() * (a.length + 1)) | 0;
    const word = pos & ~7;
    switch ((r() * 10) | 0) {
      case 0: if (a.length) a[Math.min(pos, a.length - 1)]! ^= 1 << ((r() * 8) | 0); break;
      case 1: if (a.length) a[Math.min(pos, a.length - 1)] = (r() * 256) | 0; break;
      case 2: a = a.subarray(0, pos).slice(); break;
      case 3: a = splice(a, pos, 0, new Uint8Array([(r() * 256) | 0])); break;
      case 4: a = splice(a, pos, 1 + ((r() * 16) | 0), new Uint8Array(0)); break;
      case 5: a = splice(a, word, 8, u64([0, 1, 7, 8, 255, 4096, 2 ** 31, 2 ** 40, 2 ** 53 + 1][(r() * 9) | 0]!)); break;
      case 6: a = splice(a, word, r() < 0.5 ? 0 : 16, token(TOKENS[(r() * TOKENS.length) | 0]!)); break;
      case 7: { const from = (r() * a.length) & ~7; a = splice(a, word, 0, a.subarray(from, from + 8 * (1 + ((r() * 6) | 0)))); break; }
      case 8: if (word + 16 <= a.length) { const x = a.slice(word, word + 8); a.copyWithin(word, word + 8, word + 16); a.set(x, word + 8); } break;
      default: a = splice(a, a.length, 0, new Uint8Array((r() * 12) | 0)); break;
    }
  }
  return a;
}

export interface FuzzStats {
  cases: number;
  rejected: number;
  accepted: number;
  /** Problems found; empty means the run passed. */
  failures: string[];
  errors: Map<string, number>;
}

async function* once(x: Uint8Array): AsyncIterable<Uint8Array> {
  yield x;
}

function narOf(path: string): Buffer {
  return Buffer.concat([...dumpPathSync(path)].map((c) => Buffer.from(c)));
}

const TIMEOUT_MS = 10_000;

/** Run one case in `work` (a fresh dir). Returns 'rejected' | 'accepted' or throws a failure text. */
export async function runCase(nar: Uint8Array, work: string, refBin: string): Promise<'rejected' | 'accepted'> {
  mkdirSync(work);
  const target = join(work, 'target');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('HANG')), TIMEOUT_MS)));
  let outcome: 'rejected' | 'accepted' = 'accepted';
  try {
    await Promise.race([restorePath(target, once(nar)), timeout]);
  } catch (e) {
    if ((e as Error).name !== 'NixError') throw new Error(`non-NixError: ${(e as Error).stack ?? e}`);
    outcome = 'rejected';
  } finally {
    clearTimeout(timer);
  }
  const stray = readdirSync(work).filter((f) => f !== 'target');
  if (stray.length) throw new Error(`wrote outside the target: ${stray.join(', ')}`);
  if (outcome === 'accepted') {
    const refTarget = join(work, 'ref');
    const r = spawnSync(join(refBin, 'nix-store'), ['--restore', refTarget], { input: nar, timeout: TIMEOUT_MS });
    if (r.status !== 0) throw new Error(`tix accepted but the reference rejected: ${r.stderr.toString().trim()}`);
    if (!narOf(target).equals(narOf(refTarget))) throw new Error('restored trees differ from the reference');
  }
  return outcome;
}

export async function fuzz(opts: { cases: number; seed: number; dir: string; refBin: string; onProgress?: (s: FuzzStats) => void }): Promise<FuzzStats> {
  const stats: FuzzStats = { cases: 0, rejected: 0, accepted: 0, failures: [], errors: new Map() };
  const seeds = seedArchives(opts.seed, 24);
  const r = rng(opts.seed ^ 0x5eed);
  for (let i = 0; i < opts.cases; i++) {
    const nar = mutate(seeds[i % seeds.length]!, r);
    // Fresh dirs per case, removed in batches: per-case removal dominated the run time.
    if (i % 1000 === 0) rmSync(join(opts.dir, 'b'), { recursive: true, force: true }), mkdirSync(join(opts.dir, 'b'));
    const work = join(opts.dir, 'b', `c${i}`);
    try {
      const o = await runCase(nar, work, opts.refBin);
      stats[o]++;
    } catch (e) {
      stats.failures.push(`case ${i}: ${(e as Error).message} (archive ${Buffer.from(nar).toString('base64')})`);
    }
    stats.cases++;
    if (opts.onProgress && stats.cases % 5000 === 0) opts.onProgress(stats);
  }
  return stats;
}

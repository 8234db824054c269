/**
 * `computeFSClosure` (libstore/misc.cc): the start paths plus everything
 * reachable through references (or referrers when flipped), optionally
 * following derivation outputs and derivers. Returns full printed paths.
 * Reads straight from the database with prepared statements: one indexed
 * lookup per visited path, iteratively (no recursion depth limit).
 */
import { NixError } from '../../core/index.js';
import { StoreErrorCode } from '../errors.js';
import type { StorePath } from '../../formats/index.js';
import type { LocalStore } from './local-store.js';

export interface ClosureOptions {
  flipDirection?: boolean;
  includeOutputs?: boolean;
  includeDerivers?: boolean;
  /** When given, filled with each visited path's references (forward direction). */
  referencesOut?: Map<string, string[]>;
}

export function computeClosure(store: LocalStore, start: readonly StorePath[], opts: ClosureOptions): Set<string> {
  const db = store.db;
  const seen = new Set<string>();
  const stack = start.map((p) => store.print(p));
  const drvSuffix = '.drv';
  if (!opts.flipDirection && !opts.includeOutputs && !opts.includeDerivers) {
    return referencesClosure(store, stack, opts.referencesOut);
  }
  db.read(() => {
    for (const p of stack) if (!db.isValid(p)) throw notValid(p);
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen.has(p)) continue;
      const row = db.queryPathInfo(p);
      if (row === undefined) continue;
      seen.add(p);
      if (opts.flipDirection) {
        for (const r of db.queryReferrers(p)) if (!seen.has(r)) stack.push(r);
        if (opts.includeOutputs) for (const d of db.queryValidDerivers(p)) if (!seen.has(d)) stack.push(d);
        if (opts.includeDerivers && p.endsWith(drvSuffix)) {
          for (const [, out] of db.queryDerivationOutputs(row.id)) if (db.isValid(out) && !seen.has(out)) stack.push(out);
        }
      } else {
        const refs = db.queryReferences(row.id);
        opts.referencesOut?.set(p, refs);
        for (const r of refs) if (!seen.has(r)) stack.push(r);
        if (opts.includeOutputs && p.endsWith(drvSuffix)) {
          for (const [, out] of db.queryDerivationOutputs(row.id)) if (db.isValid(out) && !seen.has(out)) stack.push(out);
        }
        if (opts.includeDerivers && row.deriver !== null && db.isValid(row.deriver) && !seen.has(row.deriver)) stack.push(row.deriver);
      }
    }
  });
  return seen;
}

/**
 * The plain forward closure (`-qR`, `nix path-info -r`, build inputs):
 * walked by row id with one prepared query per visited path, which returns
 * each reference's id and path together (no per-path row lookup).
 */
function referencesClosure(store: LocalStore, start: string[], referencesOut?: Map<string, string[]>): Set<string> {
  const db = store.db;
  const seen = new Set<string>();
  db.read(() => {
    const stack: { id: number; path: string }[] = [];
    for (const p of start) {
      const id = db.pathId(p);
      if (id === undefined) throw notValid(p);
      stack.push({ id, path: p });
    }
    const seenIds = new Set<number>();
    while (stack.length > 0) {
      const { id, path } = stack.pop()!;
      if (seenIds.has(id)) continue;
      seenIds.add(id);
      seen.add(path);
      const refs = db.queryReferencesWithIds(id);
      referencesOut?.set(path, refs.map((r) => r.path));
      for (const r of refs) if (!seenIds.has(r.id)) stack.push(r);
    }
  });
  return seen;
}

/**
 * `nix-store -qR` on a local store: the closure of `start` (printed
 * paths) in the order Nix prints it, which is `topoSortPaths` reversed:
 * a post-order DFS with the closure's paths as roots in sorted order and
 * each path's references in sorted order, so references come before
 * their referrers. Works on row ids and dense indices (no StorePath
 * objects, no string sets): one prepared query per path, then integer
 * sorts.
 */
export function requisitesInPrintOrder(store: LocalStore, start: readonly string[]): string[] {
  const db = store.db;
  const paths: string[] = [];
  const refs: number[][] = [];
  db.read(() => {
    const index = new Map<number, number>();
    const ids: number[] = [];
    const visit = (id: number, path: string): void => {
      index.set(id, ids.length);
      ids.push(id);
      paths.push(path);
    };
    for (const p of start) {
      const id = db.pathId(p);
      if (id === undefined) throw notValid(p);
      if (!index.has(id)) visit(id, p);
    }
    // Breadth first over the growing list: each index is expanded once.
    for (let i = 0; i < ids.length; i++) {
      const own: number[] = [];
      for (const [refId, refPath] of db.queryReferenceRows(ids[i]!)) {
        if (refId === ids[i]) continue; // a self-reference orders nothing
        let j = index.get(refId);
        if (j === undefined) {
          j = ids.length;
          visit(refId, refPath);
        }
        own.push(j);
      }
      refs.push(own);
    }
  });
  return postOrder(paths, refs).map((i) => paths[i]!);
}

/** Post-order DFS over `refs` (dense indices), roots and children by path order; cycles are errors. */
function postOrder(paths: readonly string[], refs: readonly number[][]): number[] {
  const n = paths.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (paths[a]! < paths[b]! ? -1 : paths[a]! > paths[b]! ? 1 : 0));
  const rank = new Int32Array(n);
  for (let r = 0; r < n; r++) rank[order[r]!] = r;
  for (const l of refs) if (l.length > 1) l.sort((a, b) => rank[a]! - rank[b]!);
  const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
  const out: number[] = [];
  const stack: number[] = [];
  const next: number[] = [];
  for (const root of order) {
    if (state[root] !== 0) continue;
    state[root] = 1;
    stack.push(root);
    next.push(0);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const v = stack[top]!;
      const l = refs[v]!;
      if (next[top]! < l.length) {
        const w = l[next[top]!++]!;
        if (state[w] === 1) throw new NixError(StoreErrorCode.E_BAD_REFERENCE, `cycle detected in the references of '${paths[w]}' from '${paths[v]}'`);
        if (state[w] === 0) {
          state[w] = 1;
          stack.push(w);
          next.push(0);
        }
      } else {
        state[v] = 2;
        out.push(v);
        stack.pop();
        next.pop();
      }
    }
  }
  return out;
}

function notValid(p: string): NixError {
  return new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${p}' is not valid`);
}

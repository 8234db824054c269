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

function notValid(p: string): NixError {
  return new NixError(StoreErrorCode.E_PATH_NOT_VALID, `path '${p}' is not valid`);
}

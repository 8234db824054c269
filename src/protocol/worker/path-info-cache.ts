/**
 * The daemon's path-info cache (2.8 `Store::pathInfoCache`): 2.8 forks one
 * daemon process per connection and its store keeps the infos it has read, so
 * a client asking about the same paths again is answered from memory. We keep
 * one cache per connection too, holding each QueryPathInfo answer as the exact
 * bytes sent (STDERR_LAST and the reply), keyed by the path as the client
 * spells it, so a hit is one map lookup and one socket write.
 *
 * Freshness, stricter than 2.8 (which also caches "not valid" answers and
 * trusts its entries for `narinfo-cache-positive-ttl`, 30 days):
 * - only valid paths are cached;
 * - a change made through this daemon process, on any connection, empties
 *   every cache: operations that may change path infos bump a process-wide
 *   generation when they start and again when they end, and an answer read
 *   while the generation moved is not kept (it may predate the change);
 * - a change made by another process (a local `nix-store --gc`/`--delete`)
 *   is seen because every hit first asks `stillValid` (the daemon: the path
 *   is still on disk, one access(2)). A collector removes the file before it
 *   finishes, so a query sent after the collection ended is answered "not
 *   valid", as the store itself would answer.
 * Not seen, as in 2.8: database-only changes made by another process (e.g.
 * signatures added by a local `nix store sign`) until the next changing
 * operation through the daemon.
 */
import { Op } from './ops.js';

export interface PathInfoCacheOptions {
  /** A cheap check that a cached path (as printed, absolute) was not deleted meanwhile. */
  stillValid(printedPath: string): boolean;
  /** Entries per connection (2.8: 65536 per process). */
  size?: number;
}

/** Operations that cannot change any path info: the caches survive them. */
const KEEPS_CACHE = new Set<number>([
  Op.IsValidPath, Op.HasSubstitutes, Op.QueryPathHash, Op.QueryReferences, Op.QueryReferrers, Op.QueryDeriver,
  Op.QuerySubstitutablePathInfo, Op.QueryDerivationOutputs, Op.QueryAllValidPaths, Op.QueryPathInfo,
  Op.QueryDerivationOutputNames, Op.QueryPathFromHashPart, Op.QuerySubstitutablePathInfos, Op.QueryValidPaths,
  Op.QuerySubstitutablePaths, Op.QueryValidDerivers, Op.NarFromPath, Op.QueryMissing, Op.QueryDerivationOutputMap,
  Op.QueryRealisation, Op.AddTempRoot, Op.AddIndirectRoot, Op.AddPermRoot, Op.FindRoots, Op.SetOptions,
]);

/** Whether operation `op` may change path infos (and so must bump the generation around it). */
export function changesPathInfos(op: number): boolean {
  return !KEEPS_CACHE.has(op);
}

/** Bumped when a changing operation starts and when it ends, on any connection. */
let generation = 0;

export function bumpPathInfoGeneration(): void {
  generation++;
}

export function pathInfoGeneration(): number {
  return generation;
}

export class PathInfoCache {
  /** Printed path → STDERR_LAST + QueryPathInfo reply. */
  private readonly entries = new Map<string, Buffer>();
  private readonly size: number;
  private gen = generation;

  constructor(private readonly opts: PathInfoCacheOptions) {
    this.size = opts.size ?? 4096;
  }

  /** The bytes to send for `printedPath`, if cached and still valid. */
  get(printedPath: string): Buffer | undefined {
    if (this.gen !== generation) {
      this.entries.clear();
      this.gen = generation;
      return undefined;
    }
    const e = this.entries.get(printedPath);
    if (e === undefined) return undefined;
    if (this.opts.stillValid(printedPath)) return e;
    this.entries.delete(printedPath);
    return undefined;
  }

  /** Keep `answer`, read when the generation was `readAt`, unless something changed since. */
  set(printedPath: string, answer: Buffer, readAt: number): void {
    if (readAt !== generation) return;
    if (this.gen !== generation) {
      this.entries.clear();
      this.gen = generation;
    }
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(printedPath, answer);
  }
}

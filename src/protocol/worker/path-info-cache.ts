/**
 * The daemon's path-info cache (2.8 `Store::pathInfoCache`): 2.8 forks one
 * daemon process per connection and its store keeps the infos it has read, so
 * a client asking about the same paths again is answered from memory. Ours is
 * shared by the connections to one store (below) and holds each QueryPathInfo
 * answer as the exact bytes sent (STDERR_LAST and the reply), keyed by the
 * path as the client spells it, so a hit is one map lookup and one write.
 * Every client version we accept (≥ 1.21) gets the same answer bytes.
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
  /** Entries kept (2.8: 65536 per process, that is per connection). */
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

/** Printed path → STDERR_LAST + QueryPathInfo reply, and the generation they were read in. */
interface Entries {
  map: Map<string, Buffer>;
  gen: number;
}

/**
 * Connections given the same options object share their entries (the daemon
 * passes one per store): unlike 2.8's per-process caches, one client's
 * queries then serve the next client's, and the rules above keep them fresh.
 */
const shared = new WeakMap<PathInfoCacheOptions, Entries>();

export class PathInfoCache {
  private readonly entries: Entries;
  private readonly size: number;

  constructor(private readonly opts: PathInfoCacheOptions) {
    this.size = opts.size ?? 16384;
    let e = shared.get(opts);
    if (e === undefined) shared.set(opts, (e = { map: new Map(), gen: generation }));
    this.entries = e;
  }

  /** The entries, emptied first if anything changed since they were read. */
  private current(): Map<string, Buffer> {
    const e = this.entries;
    if (e.gen !== generation) {
      e.map.clear();
      e.gen = generation;
    }
    return e.map;
  }

  /** The bytes to send for `printedPath`, if cached and still valid. */
  get(printedPath: string): Buffer | undefined {
    const map = this.current();
    const e = map.get(printedPath);
    if (e === undefined) return undefined;
    if (this.opts.stillValid(printedPath)) return e;
    map.delete(printedPath);
    return undefined;
  }

  /** Keep `answer`, read when the generation was `readAt`, unless something changed since. */
  set(printedPath: string, answer: Buffer, readAt: number): void {
    if (readAt !== generation) return;
    const map = this.current();
    if (map.size >= this.size) map.delete(map.keys().next().value!);
    map.set(printedPath, answer);
  }
}

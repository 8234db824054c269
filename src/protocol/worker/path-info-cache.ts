/**
 * The daemon's path-info cache (2.8 `Store::pathInfoCache`): 2.8 forks one
 * daemon process per connection and its store keeps the infos it has read, so
 * a client asking about the same paths again is answered from memory. We keep
 * one cache per connection too, holding the encoded QueryPathInfo replies.
 *
 * Freshness, stricter than 2.8 (which also caches "not valid" answers and
 * trusts its entries until they expire): only valid paths are cached; an
 * entry is used only while `stillValid` (the daemon checks that the path is
 * still on disk, so a garbage collection elsewhere is noticed); and any
 * operation of this connection that may change path infos empties the cache.
 */
import type { StorePath } from '../../formats/index.js';
import { Op } from './ops.js';

export interface PathInfoCacheOptions {
  /** A cheap check that a cached path was not deleted meanwhile. */
  stillValid(path: StorePath): boolean;
  /** Entries per connection (2.8: 65536 per process). */
  size?: number;
}

/** Operations that cannot change any path info: the cache survives them. */
const KEEPS_CACHE = new Set<number>([
  Op.IsValidPath, Op.HasSubstitutes, Op.QueryPathHash, Op.QueryReferences, Op.QueryReferrers, Op.QueryDeriver,
  Op.QuerySubstitutablePathInfo, Op.QueryDerivationOutputs, Op.QueryAllValidPaths, Op.QueryPathInfo,
  Op.QueryDerivationOutputNames, Op.QueryPathFromHashPart, Op.QuerySubstitutablePathInfos, Op.QueryValidPaths,
  Op.QuerySubstitutablePaths, Op.QueryValidDerivers, Op.NarFromPath, Op.QueryMissing, Op.QueryDerivationOutputMap,
  Op.QueryRealisation, Op.AddTempRoot, Op.AddIndirectRoot, Op.AddPermRoot, Op.FindRoots, Op.SetOptions,
]);

export class PathInfoCache {
  private readonly entries = new Map<string, { path: StorePath; reply: Uint8Array }>();
  private readonly size: number;

  constructor(private readonly opts: PathInfoCacheOptions) {
    this.size = opts.size ?? 4096;
  }

  /** The encoded reply for `path`, if cached and still valid. */
  get(path: StorePath): Uint8Array | undefined {
    const e = this.entries.get(path.baseName);
    if (e === undefined) return undefined;
    if (this.opts.stillValid(e.path)) return e.reply;
    this.entries.delete(path.baseName);
    return undefined;
  }

  set(path: StorePath, reply: Uint8Array): void {
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(path.baseName, { path, reply });
  }

  /** Called before each operation. */
  beforeOp(op: number): void {
    if (!KEEPS_CACHE.has(op) && this.entries.size > 0) this.entries.clear();
  }
}

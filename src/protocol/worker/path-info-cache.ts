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
 *   is seen because the path is gone from disk: a collector removes (or
 *   renames) the store entry before it finishes. With `watchDir`, deletions
 *   there are watched (inotify, fs.watch) and drop the entry; an event also
 *   voids any answer being read meanwhile. A hit is checked with `stillValid`
 *   (the daemon: one access(2)) when the watch is not working, and, on each
 *   connection, the first time that connection is served that entry: an
 *   event lost in the kernel (inotify queue overflow, which Node does not
 *   report) then leaves stale only the answers a connection was already
 *   given, which 2.8's per-connection cache would give again without looking
 *   at the disk at all. So a query sent after the collection ended is
 *   answered "not valid", as the store itself would answer.
 * Not seen, as in 2.8: database-only changes made by another process (e.g.
 * signatures added by a local `nix store sign`) until the next changing
 * operation through the daemon.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import { Op } from './ops.js';

export interface PathInfoCacheOptions {
  /** A cheap check that a cached path (as printed, absolute) was not deleted meanwhile. */
  stillValid(printedPath: string): boolean;
  /**
   * The directory whose entries `stillValid` looks for (the store directory,
   * as printed paths spell it). When given, deletions there are watched and a
   * connection's repeated hits skip `stillValid` while the watch works.
   */
  watchDir?: string;
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

/**
 * Events in a row that find nothing cached before the watch is paused: a
 * stream of adds makes a few events each (path lock made and removed, the
 * path itself), all while the adds keep the entries emptied, and each event
 * costs the daemon a wake-up and a callback (~4 µs of CPU per small add).
 * The next entry kept starts the watch again (~14 µs, once).
 */
const IDLE_EVENTS = 64;

/** Printed path → STDERR_LAST + QueryPathInfo reply, read in generation `gen`. */
class Entries {
  readonly map = new Map<string, Buffer>();
  gen = generation;
  /** Bumped by each event of the watch: answers read across one are not kept. */
  events = 0;
  /** Set while the watch of `watchDir` works: deletions are then seen without asking the disk. */
  watching = false;
  private watcher: FSWatcher | undefined;
  /** Events in a row that found nothing cached (see IDLE_EVENTS). */
  private idle = 0;
  /** Set when the watch was paused for idleness (not failed): `resume` starts it again. */
  private paused = false;

  constructor(private readonly dir: string | undefined) {
    if (dir !== undefined) this.watch(dir);
  }

  /** Start the watch again if it was paused for idleness (an entry is about to be kept). */
  resume(): void {
    if (this.paused && this.dir !== undefined) {
      this.paused = false;
      this.watch(this.dir);
    }
  }

  private watch(dir: string): void {
    this.idle = 0;
    try {
      this.watcher = watch(dir, { persistent: false }, (type, name) => {
        this.events++;
        if (this.map.size === 0 || this.gen !== generation) {
          // Nothing cached that the event could concern (or all of it stale).
          if (++this.idle >= IDLE_EVENTS) this.pause();
          return;
        }
        this.idle = 0;
        if (type !== 'rename') return; // contents or attributes of an entry, not its removal
        // No name, or the directory itself went away: the watch is over.
        if (typeof name !== 'string' || name === basename(dir)) this.unwatch();
        else this.map.delete(`${dir}/${name}`);
      });
      this.watcher.on('error', () => this.unwatch());
      this.watching = true;
    } catch {
      // No inotify (ENOSPC: out of watches, EACCES, ...): every hit asks `stillValid`.
    }
  }

  /** Stop watching while nothing is cached; hits ask `stillValid` meanwhile. */
  private pause(): void {
    this.unwatch();
    this.paused = true;
  }

  private unwatch(): void {
    this.watching = false;
    this.events++;
    this.map.clear();
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/**
 * Connections given the same options object share their entries (the daemon
 * passes one per store): unlike 2.8's per-process caches, one client's
 * queries then serve the next client's, and the rules above keep them fresh.
 */
const shared = new WeakMap<PathInfoCacheOptions, Entries>();

/** One connection's view of the shared entries. */
export class PathInfoCache {
  private readonly entries: Entries;
  private readonly size: number;
  /** The answers this connection was given (a new answer is a new object). */
  private readonly served = new WeakSet<Buffer>();

  constructor(private readonly opts: PathInfoCacheOptions) {
    this.size = opts.size ?? 16384;
    let e = shared.get(opts);
    if (e === undefined) shared.set(opts, (e = new Entries(opts.watchDir)));
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
    if (this.entries.watching && this.served.has(e)) return e;
    if (this.opts.stillValid(printedPath)) {
      this.served.add(e);
      return e;
    }
    map.delete(printedPath);
    return undefined;
  }

  /** Whether deletions are seen by the watch now (not paused, not failed). */
  get watching(): boolean {
    return this.entries.watching;
  }

  /** A mark to pass to `set` for an answer about to be read. */
  mark(): number {
    // Both counters only grow: the sum moves when either does.
    return generation + this.entries.events;
  }

  /** Keep `answer`, read after `mark()` returned `readAt`, unless something changed since. */
  set(printedPath: string, answer: Buffer, readAt: number): void {
    if (readAt !== this.mark()) return;
    const map = this.current();
    if (map.size >= this.size) map.delete(map.keys().next().value!);
    // Read while the watch was paused: a deletion meanwhile went unseen, so the first hit asks the disk.
    const seen = this.entries.watching;
    if (map.size === 0) this.entries.resume();
    map.set(printedPath, answer);
    if (seen) this.served.add(answer);
  }
}

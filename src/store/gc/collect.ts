/**
 * Garbage collection (libstore/gc.cc `collectGarbage`, Nix 2.8 behaviour).
 *
 * 1. Take `gc.lock` exclusively and listen on `gc-socket/socket`, so adders
 *    that start now must announce their temp roots to us.
 * 2. Roots = permanent + runtime + temp roots. Live = their closure, where a
 *    live path keeps its references, its deriver when `keep-derivations`
 *    (the deriver lists it as an output) and a live `.drv` keeps its outputs
 *    when `keep-outputs`.
 * 3. Dead paths are deleted referrers-first: each is first invalidated (its
 *    own transaction), then its files removed, so a crash never leaves a
 *    registered path without contents. Before each deletion the announced
 *    temp roots are re-checked; socket answers are only sent between
 *    deletions, so an adder never sees a path valid that we then remove.
 * 4. Invalid entries in the store dir (names that parse as store paths)
 *    are removed unless their hash part is a temp root; other names are
 *    never touched.
 */
import { createServer, type Server } from 'node:net';
import { readdirSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NixError } from '../../core/index.js';
import { StoreErrorCode } from '../errors.js';
import type { GCOptions, GCResults } from '../store.js';
import type { LocalStore } from '../local/local-store.js';
import { lockFile, type FileLock } from '../locks.js';
import { releaseGcLockHold } from '../temp-root-append.js';
import { deletePath, diskUsage } from '../local/add-to-store.js';
import { findRootsMap } from './roots.js';
import { gcLockPath, gcSocketPath } from './temp-roots.js';

export interface GCLog {
  info(msg: string): void;
}

/** Paths announced over the socket while we run (hash parts). */
class RootsServer {
  readonly hashParts = new Set<string>();
  private server: Server | undefined;

  constructor(private readonly storeDir: string) {}

  async start(path: string): Promise<void> {
    mkdirSync(dirname(path), { recursive: true });
    try {
      unlinkSync(path);
    } catch {
      /* none */
    }
    this.server = createServer((sock) => {
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const base = line.startsWith(this.storeDir + '/') ? line.slice(this.storeDir.length + 1) : line;
          this.hashParts.add(base.slice(0, 32));
          sock.write('1');
        }
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(path, () => res());
    });
  }

  async stop(path: string): Promise<void> {
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
    try {
      unlinkSync(path);
    } catch {
      /* gone */
    }
  }
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function collectGarbage(store: LocalStore, opts: GCOptions, log?: GCLog): Promise<GCResults> {
  const lockPath = gcLockPath(store.stateDir);
  // Our own appends may keep gc.lock shared for a moment: not worth waiting (or a message) for.
  releaseGcLockHold(lockPath);
  const gcLock: FileLock = await lockFile(lockPath, 'write', () => log?.info('waiting for the big garbage collector lock...'));
  const sockPath = gcSocketPath(store.stateDir);
  const server = new RootsServer(store.storeDir.dir);
  try {
    await server.start(sockPath);
    return await run(store, opts, server, log);
  } finally {
    await server.stop(sockPath);
    await gcLock.release();
  }
}

async function run(store: LocalStore, opts: GCOptions, server: RootsServer, log?: GCLog): Promise<GCResults> {
  const db = store.db;
  log?.info('finding garbage collector roots...');
  const roots = await findRootsMap(store, false, log);
  const tempHashParts = new Set<string>();
  const rootPaths: string[] = [];
  for (const [p, links] of roots) {
    if (!opts.ignoreLiveness) rootPaths.push(p);
    for (const l of links) if (l.startsWith('{temp:')) tempHashParts.add(baseOf(p).slice(0, 32));
  }
  // Temp roots of paths not valid yet (adds in flight) protect their temp entries.
  const { findTempRoots } = await import('./temp-roots.js');
  for (const p of (await findTempRoots(store.stateDir, false)).keys()) tempHashParts.add(baseOf(p).slice(0, 32));
  const isTempRoot = (printed: string): boolean => {
    const hp = baseOf(printed).slice(0, 32);
    return tempHashParts.has(hp) || server.hashParts.has(hp);
  };

  const live = opts.ignoreLiveness ? new Set<string>() : liveSet(store, rootPaths);
  const results: GCResults = { paths: [], bytesFreed: 0 };

  if (opts.action === 'deleteSpecific') {
    const targets = (opts.pathsToDelete ?? []).map((p) => store.print(p));
    for (const t of targets) {
      if (live.has(t) || (!opts.ignoreLiveness && isTempRoot(t))) {
        throw new NixError(StoreErrorCode.E_PATH_IN_USE, `Cannot delete path '${t}' since it is still alive. To find out why, use: nix-store --query --roots`);
      }
    }
    await deleteValid(store, orderForDeletion(store, targets), opts, results, isTempRoot, log, true);
    return results;
  }

  if (opts.action !== 'deleteDead') log?.info('determining live/dead paths...');
  if (opts.action === 'returnLive') {
    results.paths = [...live].sort();
    return results;
  }
  const dead = db.queryAllValidPaths().filter((p) => !live.has(p) && !isTempRoot(p));
  if (opts.action === 'returnDead') {
    results.paths = [...dead, ...invalidEntries(store, isTempRoot)].sort();
    return results;
  }
  log?.info('deleting garbage...');
  const limitReached = await deleteValid(store, orderForDeletion(store, dead), opts, results, isTempRoot, log, false);
  if (!limitReached) {
    for (const e of invalidEntries(store, isTempRoot)) {
      if (reached(opts, results)) break;
      log?.info(`deleting '${e}'`);
      results.bytesFreed += diskUsage(e);
      deletePath(e);
      results.paths.push(e);
    }
  }
  return results;
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function reached(opts: GCOptions, r: GCResults): boolean {
  return opts.maxFreed !== undefined && opts.maxFreed > 0 && r.bytesFreed > opts.maxFreed;
}

/** Closure of the roots under references, keep-derivations and keep-outputs. */
function liveSet(store: LocalStore, rootPaths: readonly string[]): Set<string> {
  const db = store.db;
  const keepDerivations = store.settings.getBool('keep-derivations', true);
  const keepOutputs = store.settings.getBool('keep-outputs', false);
  const live = new Set<string>();
  const stack = [...rootPaths];
  db.read(() => {
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (live.has(p)) continue;
      const row = db.queryPathInfo(p);
      if (row === undefined) continue;
      live.add(p);
      for (const r of db.queryReferences(row.id)) if (!live.has(r)) stack.push(r);
      if (keepDerivations && row.deriver !== null && !live.has(row.deriver)) {
        const drvId = db.pathId(row.deriver);
        if (drvId !== undefined && db.queryDerivationOutputs(drvId).some(([, o]) => o === p)) stack.push(row.deriver);
      }
      if (keepOutputs && p.endsWith('.drv')) {
        for (const [, o] of db.queryDerivationOutputs(row.id)) if (!live.has(o)) stack.push(o);
      }
    }
  });
  return live;
}

/** Order paths so every path comes before the paths it references (referrers first). */
function orderForDeletion(store: LocalStore, paths: readonly string[]): string[] {
  const db = store.db;
  const set = new Set(paths);
  const done = new Set<string>();
  const out: string[] = [];
  // Post-order over referrers: emit a path after all its referrers in the set.
  for (const start of paths) {
    if (done.has(start)) continue;
    const stack: [string, string[] | undefined][] = [[start, undefined]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top[1] === undefined) {
        if (done.has(top[0])) {
          stack.pop();
          continue;
        }
        done.add(top[0]);
        top[1] = db.queryReferrers(top[0]).filter((r) => set.has(r) && !done.has(r));
      }
      const next = top[1].pop();
      if (next !== undefined) {
        if (!done.has(next)) stack.push([next, undefined]);
      } else {
        stack.pop();
        out.push(top[0]);
      }
    }
  }
  return out;
}

/**
 * Invalidate then delete paths, in batches: each batch is decided and
 * invalidated in one transaction (referrers first, so a path whose referrer
 * we kept is kept too), then its files are removed. Socket announcements are
 * only processed between batches. Returns true when max-freed stopped us.
 */
async function deleteValid(
  store: LocalStore,
  ordered: readonly string[],
  opts: GCOptions,
  results: GCResults,
  isTempRoot: (p: string) => boolean,
  log: GCLog | undefined,
  specific: boolean,
): Promise<boolean> {
  const db = store.db;
  const BATCH = opts.maxFreed ? 1 : 256;
  for (let start = 0; start < ordered.length; start += BATCH) {
    if (reached(opts, results)) return true;
    if (start > 0) await yieldToLoop();
    const batch = ordered.slice(start, start + BATCH);
    const doomed: string[] = db.immediate(() => {
      const out: string[] = [];
      for (const p of batch) {
        if (!specific && isTempRoot(p)) continue;
        const id = db.pathId(p);
        if (id === undefined) continue;
        if (db.hasOtherReferrers(id)) {
          // A referrer we kept (temp root) keeps this path alive too; for
          // --delete, a referrer outside the set makes the path undeletable.
          if (!specific) continue;
          if (!opts.ignoreLiveness) {
            throw new NixError(StoreErrorCode.E_PATH_IN_USE, `Cannot delete path '${p}' since it is still alive. To find out why, use: nix-store --query --roots`);
          }
        }
        db.invalidatePath(id);
        out.push(p);
      }
      return out;
    });
    for (const p of doomed) {
      log?.info(`deleting '${p}'`);
      results.bytesFreed += diskUsage(p);
      deletePath(p);
      results.paths.push(p);
      if (reached(opts, results)) {
        log?.info(`deleted more than ${opts.maxFreed} bytes; stopping`);
        // The rest of this batch is already invalid: remove its files too.
        for (const q of doomed.slice(doomed.indexOf(p) + 1)) {
          results.bytesFreed += diskUsage(q);
          deletePath(q);
          results.paths.push(q);
        }
        return true;
      }
    }
  }
  return reached(opts, results);
}

/**
 * Entries of the store dir that parse as store paths but are not valid and
 * not protected by a temp root: leftovers of killed adds (tix's temp names
 * `<hashPart>-tix-tmp-…` parse too), stale lock files, unregistered copies.
 *
 * Unlike Nix 2.8, which deletes every other entry as well, we leave names
 * that are not store paths alone: `.links` (the optimiser's), `.tix-sandbox`
 * (the sandbox's per-build view directories) and anything else some other
 * tool keeps there. See docs/deviations.md.
 */
function invalidEntries(store: LocalStore, isTempRoot: (p: string) => boolean): string[] {
  const dir = store.storeDir.dir;
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const full = join(dir, name);
    if (!store.storeDir.isStorePath(full)) continue;
    if (store.db.isValid(full) || isTempRoot(full)) continue;
    out.push(full);
  }
  return out;
}


/**
 * Batched `addTextToStore` (`Store.addTextsToStore`): an evaluation's
 * deferred `builtins.toFile` and `.drv` writes, which Nix 2.8 performs one
 * `LocalStore::addTextToStore` each.
 *
 * Every path goes through the steps of a single add, in the same order:
 * temp root, path lock, validity re-check, contents written atomically under
 * the final name (`writeSmallFile`). What is shared is the registration: the
 * paths of a chunk are registered in one transaction, and each keeps its
 * path lock until that commits. Hence, as for single adds:
 *  - a registered path always has its complete contents (written before
 *    the commit); a kill before the commit leaves complete, unregistered
 *    files, which the next add replaces and GC removes;
 *  - a concurrent adder of the same path (tix or Nix) waits on the lock
 *    and then finds it valid.
 * One transaction per chunk instead of per path is most of the saving: each
 * commit appends its pages to the WAL, and a checkpoint copies them back.
 * The chunk's temp roots also go in one append (one gc.lock attempt), one
 * query finds which of its paths are valid already, and its path locks are
 * names of one lock file (locks.ts `PathLockGroup`: a link per path instead
 * of a lock file made and deleted).
 *
 * A lock that is not free at once is waited for only with nothing held
 * (the chunk is committed and its locks dropped first), so two batches
 * that lock the same paths in different orders cannot deadlock.
 */
import { existsSync } from 'node:fs';
import { NixError } from '../../core/index.js';
import type { Hash, StorePath } from '../../formats/index.js';
import { StoreErrorCode } from '../errors.js';
import { PathLockGroup, PathLocks } from '../locks.js';
import type { TextToAdd } from '../store.js';
import { checkAddName, digestOf, narOfBytes, textCa } from './add-to-store.js';
import { sortPaths } from './path-info.js';
import type { RegisterRow } from './db.js';
import type { LocalStore } from './local-store.js';

/** Paths per transaction (each keeps its path lock until the commit). */
const CHUNK = 256;

export async function addTextsBatch(store: LocalStore, items: readonly TextToAdd[]): Promise<StorePath[]> {
  const out: StorePath[] = [];
  await store.tempRoots.ready();
  const chunk = new Chunk(store);
  for (let i = 0; i < items.length; i += CHUNK) {
    // The chunk's paths first. A bad name fails at its item, after the
    // items before it are added (as single adds would be).
    const todo: Todo[] = [];
    let failure: unknown;
    for (const it of items.slice(i, i + CHUNK)) {
      try {
        todo.push(prepare(store, it));
      } catch (e) {
        failure = e;
        break;
      }
    }
    // Roots for all in one append, then one query: which are valid already.
    const printed = todo.map((t) => t.printed);
    const rooted = store.tempRoots.tryAddManySync(printed);
    const valid = store.db.validAmong(printed);
    try {
      for (const t of todo) {
        await chunk.add(t, valid.has(t.printed), rooted);
        out.push(t.path);
      }
    } finally {
      // Also after an error: what was written before it is registered.
      chunk.commit();
    }
    if (failure !== undefined) throw failure;
  }
  return out;
}

interface Todo extends TextToAdd {
  path: StorePath;
  printed: string;
  contentHash: Hash;
}

function prepare(store: LocalStore, it: TextToAdd): Todo {
  checkAddName(it.name);
  const contentHash = digestOf('sha256', it.text);
  const path = store.storeDir.makeTextPath(it.name, contentHash, it.references);
  return { ...it, path, printed: store.print(path), contentHash };
}

/** The paths locked since the last commit. */
class Chunk {
  private rows: RegisterRow[] = [];
  /** Path locks sharing one lock file (the usual case), and any taken the ordinary way. */
  private readonly group = new PathLockGroup();
  private readonly locks: PathLocks[] = [];
  /** Locked here: written and awaiting registration, or found valid. */
  private readonly held = new Set<string>();
  /** Written here, registered at the commit (later items may refer to them). */
  private readonly written = new Set<string>();

  constructor(private readonly store: LocalStore) {}

  /**
   * `validSeen`: the path was valid when looked at (after rooting it when
   * `rooted`; else `rootIfValid` roots and looks again).
   */
  async add(t: Todo, validSeen: boolean, rooted: boolean): Promise<void> {
    const store = this.store;
    const printed = t.printed;
    // Locking it a second time would wait on ourselves.
    if (this.held.has(printed)) return;
    // A valid path is on disk; one missing there is written again (a repair, as single adds do).
    if (validSeen && existsSync(printed) && (rooted || (await store.rootIfValid(printed)))) return;
    if (!store.tempRoots.has(printed) || !this.group.tryAdd(printed)) {
      let lock = store.tempRoots.has(printed) ? PathLocks.tryLockSync(printed) : store.tempRoots.tryAddAndLockSync(printed);
      if (lock === undefined) {
        this.commit();
        lock = await store.tempRoots.addAndLock(printed);
      }
      this.locks.push(lock);
    }
    this.held.add(printed);
    for (const r of t.references) {
      const rp = store.print(r);
      if (!this.written.has(rp) && !store.db.isValid(rp)) {
        throw new NixError(StoreErrorCode.E_BAD_REFERENCE, `cannot add path '${printed}' because it references path '${rp}' which is not valid`);
      }
    }
    if (!store.writeSmallFile(t.path, t.text, false, false)) return;
    this.rows.push(textRow(store, t.path, t.text, t.contentHash, t.references));
    this.written.add(printed);
  }

  /** Register what was written, then drop every lock. */
  commit(): void {
    const rows = this.rows;
    this.rows = [];
    this.written.clear();
    this.held.clear();
    try {
      if (rows.length > 0) this.store.db.registerValidPaths(rows);
    } finally {
      try {
        this.group.releaseSync();
      } finally {
        for (const l of this.locks.splice(0)) l.unlockSync();
      }
    }
  }
}

/** One `addTextToStore`: the same steps as a batch of one, with its own registration. */
export async function addTextToStore(store: LocalStore, name: string, text: Uint8Array, references: StorePath[]): Promise<StorePath> {
  checkAddName(name);
  const contentHash = digestOf('sha256', text);
  const path = store.storeDir.makeTextPath(name, contentHash, references);
  const printed = store.print(path);
  if (existsSync(printed) && (await store.rootIfValid(printed))) return path;
  // The contents are written only when needed. Synchronous from the lock on (see rootSmall).
  await store.rootSmall(printed);
  const locks = store.lockSmall(printed) ? undefined : await store.lockSmallSlow(printed);
  try {
    store.checkRefsValid(printed, references);
    if (!store.writeSmallFile(path, text, false, false)) return path;
    // References were checked above; the outputs come from the text in hand.
    store.db.registerValidPath(textRow(store, path, text, contentHash, references));
    return path;
  } finally {
    locks?.unlockSync();
  }
}

/** The registration of a text path whose contents are in place. */
export function textRow(store: LocalStore, path: StorePath, text: Uint8Array, contentHash: Hash, references: readonly StorePath[]): RegisterRow {
  const { narHash, narSize } = narOfBytes(text);
  return {
    path: store.print(path),
    hash: `sha256:${narHash.base16}`,
    registrationTime: Math.floor(Date.now() / 1000),
    deriver: null,
    narSize,
    ultimate: false,
    sigs: null,
    ca: textCa(contentHash),
    references: references.length === 0 ? [] : sortPaths([...references]).map((r) => store.print(r)),
    drvOutputs: path.isDerivation() ? store.drvOutputsOfBytes(text) : undefined,
  };
}

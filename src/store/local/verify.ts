/**
 * Store verification (local-store.cc `verifyStore`, `verifyPath`; nix-store
 * `--verify`, `--verify-path`), with Nix 2.8's messages.
 *
 * Existence: a valid path whose contents vanished is invalidated when none of
 * its referrers stays valid, else reported. Contents (`--check-contents`):
 * the NAR hash of every valid path is recomputed and compared. `--repair`
 * needs a substituter in Nix; tix has none here, so a repair fails as Nix's
 * does with no substituters ("cannot repair path").
 */
import { readdirSync } from 'node:fs';
import { lockFile } from '../locks.js';
import { gcLockPath } from '../gc/temp-roots.js';
import { hashPath } from '../nar-fs.js';
import type { LocalStore } from './local-store.js';

export interface VerifyLog {
  info(msg: string): void;
  error(msg: string): void;
}

const quiet: VerifyLog = { info: () => undefined, error: () => undefined };

export async function verifyStore(
  store: LocalStore,
  opts: { checkContents: boolean; repair: boolean },
  log: VerifyLog = quiet,
): Promise<boolean> {
  log.info('reading the Nix store...');
  // A shared gc.lock gives a consistent snapshot (no GC deleting meanwhile).
  const gcLock = await lockFile(gcLockPath(store.stateDir), 'read', () => log.info('waiting for the big garbage collector lock...'));
  try {
    const present = new Set(readdirSync(store.storeDir.dir));
    log.info('checking path existence...');
    const state = { errors: false, done: new Set<string>(), valid: new Set<string>() };
    for (const p of store.db.queryAllValidPaths()) verifyPathExists(store, p, present, state, opts.repair, log);
    if (opts.checkContents) {
      log.info('checking link hashes...');
      log.info('checking store hashes...');
      for (const p of [...state.valid].sort()) {
        if (!checkContents(store, p, log)) {
          if (opts.repair) log.error(`error: cannot repair path '${p}'`);
          state.errors = true;
        }
      }
    }
    return state.errors;
  } finally {
    await gcLock.release();
  }
}

interface VerifyState {
  errors: boolean;
  done: Set<string>;
  valid: Set<string>;
}

function verifyPathExists(store: LocalStore, p: string, present: Set<string>, st: VerifyState, repair: boolean, log: VerifyLog): void {
  if (st.done.has(p)) return;
  st.done.add(p);
  if (!store.storeDir.isStorePath(p)) {
    log.error(`path '${p}' is not in the Nix store`);
    return;
  }
  const base = p.slice(p.lastIndexOf('/') + 1);
  if (present.has(base)) {
    st.valid.add(p);
    return;
  }
  let canInvalidate = true;
  for (const r of store.db.queryReferrers(p)) {
    if (r === p) continue;
    verifyPathExists(store, r, present, st, repair, log);
    if (st.valid.has(r)) canInvalidate = false;
  }
  if (canInvalidate) {
    log.info(`path '${p}' disappeared, removing from database...`);
    const id = store.db.pathId(p);
    if (id !== undefined) store.db.immediate(() => store.db.invalidatePath(id));
  } else {
    log.error(`path '${p}' disappeared, but it still has valid referrers!`);
    if (repair) log.error(`error: cannot repair path '${p}'`);
    st.errors = true;
  }
}

/** Recompute the NAR hash; false (after reporting) when it differs. */
export function checkContents(store: LocalStore, p: string, log: VerifyLog): boolean {
  const row = store.db.queryPathInfo(p);
  if (row === undefined) return true;
  let got;
  try {
    got = hashPath(p, 'sha256');
  } catch (e) {
    log.error((e as Error).message);
    return false;
  }
  const expected = store.queryPathInfoSync(store.storeDir.parse(p))!.narHash;
  if (!expected.equals(got.hash)) {
    log.error(`path '${p}' was modified! expected hash '${expected.toString('base32')}', got '${got.hash.toString('base32')}'`);
    return false;
  }
  return true;
}

/**
 * Permanent and runtime GC roots (libstore/gc.cc `findRoots`,
 * `addIndirectRoot`, local-fs-store.cc `addPermRoot`).
 *
 * Roots are found by walking `<state>/gcroots` and `<state>/profiles`:
 * a symlink into the store roots its store path; a symlink elsewhere is an
 * indirect root whose target, when itself a symlink into the store, counts
 * (a dangling one under `gcroots/auto` is removed); a regular file whose name
 * is a store base name roots that path. Only valid paths count. Runtime roots
 * come from `/proc/<pid>/{exe,cwd,fd/*}`.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, renameSync, symlinkSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NixError, compareUtf8 } from '../../core/index.js';
import { encodeBase32, hashBytes, type StorePath } from '../../formats/index.js';
import { StoreErrorCode } from '../errors.js';
import type { Roots } from '../store.js';
import type { LocalStore } from '../local/local-store.js';
import { findTempRoots } from './temp-roots.js';

/** Printed store path → root descriptions (links, `{temp:pid}`, `{censored}`). */
export type RootMap = Map<string, Set<string>>;

function addRoot(roots: RootMap, target: string, link: string): void {
  let s = roots.get(target);
  if (s === undefined) roots.set(target, (s = new Set()));
  s.add(link);
}

export interface RootLog {
  info(msg: string): void;
}

/** Permanent roots from the gcroots and profiles dirs. */
export function findPermanentRoots(store: LocalStore, log?: RootLog): RootMap {
  const roots: RootMap = new Map();
  const sd = store.storeDir;
  const auto = join(store.stateDir, 'gcroots', 'auto') + '/';
  const found = (link: string, target: string): void => {
    let sp: StorePath;
    try {
      sp = sd.toStorePath(target)[0];
    } catch {
      return;
    }
    const printed = sd.print(sp);
    if (store.db.isValid(printed)) addRoot(roots, printed, link);
    else log?.info(`skipping invalid root from '${link}' to '${target}'`);
  };
  const visit = (path: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(path);
      } catch {
        log?.info(`cannot read potential root '${path}'`);
      }
      for (const n of names) visit(join(path, n));
    } else if (st.isSymbolicLink()) {
      const target = readlinkSync(path);
      if (sd.isInStore(target)) return found(path, target);
      const abs = resolve(dirname(path), target);
      let st2;
      try {
        st2 = lstatSync(abs);
      } catch {
        if (path.startsWith(auto)) {
          log?.info(`removing stale link from '${path}' to '${abs}'`);
          try {
            unlinkSync(path);
          } catch {
            /* raced */
          }
        }
        return;
      }
      if (!st2.isSymbolicLink()) return;
      const target2 = readlinkSync(abs);
      if (sd.isInStore(target2)) found(abs, target2);
    } else if (st.isFile()) {
      const name = path.slice(path.lastIndexOf('/') + 1);
      const full = `${sd.dir}/${name}`;
      if (sd.isStorePath(full) && store.db.isValid(full)) addRoot(roots, full, path);
    }
  };
  visit(join(store.stateDir, 'gcroots'));
  visit(join(store.stateDir, 'profiles'));
  return roots;
}

/** Store paths held open by running processes (`/proc`), as Nix's findRuntimeRoots. */
export function findRuntimeRoots(store: LocalStore, censor: boolean): RootMap {
  const roots: RootMap = new Map();
  const sd = store.storeDir;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return roots;
  }
  for (const pid of pids) {
    const links: string[] = [`/proc/${pid}/exe`, `/proc/${pid}/cwd`];
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) links.push(`/proc/${pid}/fd/${fd}`);
    } catch {
      /* gone or not ours */
    }
    for (const l of links) {
      let t: string;
      try {
        t = readlinkSync(l);
      } catch {
        continue;
      }
      if (!sd.isInStore(t)) continue;
      try {
        const printed = sd.print(sd.toStorePath(t)[0]);
        if (store.db.isValid(printed)) addRoot(roots, printed, censor ? '{censored}' : l);
      } catch {
        /* not a store path */
      }
    }
  }
  return roots;
}

function merge(into: RootMap, from: RootMap): void {
  for (const [t, ls] of from) for (const l of ls) addRoot(into, t, l);
}

/** All roots: permanent, runtime and temporary (`Store::findRoots`). */
export async function findRootsMap(store: LocalStore, censor: boolean, log?: RootLog): Promise<RootMap> {
  const roots = findPermanentRoots(store, log);
  merge(roots, findRuntimeRoots(store, censor));
  const temp = await findTempRoots(store.stateDir, censor);
  // As 2.8's findTempRoots: every temp root, valid or not (an add in flight roots its path first).
  for (const [t, ls] of temp) if (store.storeDir.isStorePath(t)) for (const l of ls) addRoot(roots, t, l);
  return roots;
}

export async function findRoots(store: LocalStore, censor: boolean): Promise<Roots> {
  const m = await findRootsMap(store, censor);
  const out: Roots = new Map();
  for (const [t, ls] of m) out.set(store.storeDir.parse(t), ls);
  return out;
}

/** `<state>/gcroots/auto/<base32(sha1(path))>` → `path`. */
export function addIndirectRoot(stateDir: string, path: string): void {
  const hash = encodeBase32(hashBytes('sha1', path).digest);
  const dir = join(stateDir, 'gcroots', 'auto');
  mkdirSync(dir, { recursive: true });
  makeSymlink(join(dir, hash), path);
}

/** Atomically point `link` at `target` (temp link + rename), as Nix's makeSymlink. */
export function makeSymlink(link: string, target: string): void {
  const tmp = `${link}.tmp-${process.pid}-${randomBytes(4).readUInt32LE(0)}`;
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

/** `addPermRoot`: create `gcRoot` → store path and register it as an indirect root. */
export async function addPermRoot(store: LocalStore, path: StorePath, gcRootIn: string): Promise<string> {
  const gcRoot = resolve(gcRootIn);
  if (store.storeDir.isInStore(gcRoot)) {
    throw new NixError(
      StoreErrorCode.E_NOT_IN_STORE,
      `creating a garbage collector root (${gcRoot}) in the Nix store is forbidden (are you running nix-build inside the store?)`,
    );
  }
  await store.addTempRoot(path);
  if (existsSync(gcRoot) || isLink(gcRoot)) {
    let ok = false;
    try {
      ok = lstatSync(gcRoot).isSymbolicLink() && store.storeDir.isInStore(readlinkSync(gcRoot));
    } catch {
      ok = false;
    }
    if (!ok) throw new NixError(StoreErrorCode.E_NOT_IN_STORE, `cannot create symlink '${gcRoot}'; already exists`);
  }
  makeSymlink(gcRoot, store.print(path));
  addIndirectRoot(store.stateDir, gcRoot);
  return gcRoot;
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** `--print-roots` lines: `<link> -> <path>`, sorted by link then path. */
export function formatRoots(roots: RootMap): string[] {
  const pairs: [string, string][] = [];
  for (const [t, ls] of roots) for (const l of ls) pairs.push([l, t]);
  pairs.sort((a, b) => compareUtf8(a[0], b[0]) || compareUtf8(a[1], b[1]));
  return pairs.map(([l, t]) => `${l} -> ${t}`);
}


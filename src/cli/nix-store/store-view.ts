/**
 * The store as the store team's commands see it: any `Store` (local, or a
 * daemon/`unix://` client inside recursive builds), with cached path info and
 * Nix's `topoSortPaths`, plus fast paths when the store is a `LocalStore`.
 */
import { NixError, compareUtf8 } from '../../core/index.js';
import type { StorePath } from '../../formats/index.js';
import { LocalStore, type Store, type ValidPathInfo } from '../../store/index.js';
import { accessSync, constants as C, existsSync } from 'node:fs';
import { isRemoteStoreUri } from '../../protocol/index.js';
import { openLocalStore, storeUri } from '../../glue/index.js';
import type { CliContext } from '../context.js';

export class StoreView {
  private readonly infos = new Map<string, ValidPathInfo | undefined>();
  readonly local: LocalStore | undefined;

  constructor(readonly store: Store) {
    this.local = store instanceof LocalStore ? store : undefined;
  }

  get storeDir() {
    return this.store.storeDir;
  }

  print(p: StorePath): string {
    return this.store.storeDir.print(p);
  }

  async tryInfo(p: StorePath): Promise<ValidPathInfo | undefined> {
    if (this.infos.has(p.baseName)) return this.infos.get(p.baseName);
    const i = this.local ? this.local.queryPathInfoSync(p) : await this.store.queryPathInfo(p);
    this.infos.set(p.baseName, i);
    return i;
  }

  async info(p: StorePath): Promise<ValidPathInfo> {
    const i = await this.tryInfo(p);
    if (i === undefined) throw new NixError('E0201', `path '${this.print(p)}' is not valid`);
    return i;
  }

  /** References by printed path (local: straight from the database). */
  async refsOf(full: string): Promise<string[]> {
    if (this.local) return this.local.db.queryReferencesByPath(full);
    return (await this.info(this.storeDir.parse(full))).references.map((r) => this.print(r));
  }

  /**
   * Nix's `topoSortPaths`: DFS over references restricted to `paths`, in
   * sorted order; referrers come before their references.
   */
  async topoSort(paths: StorePath[], refsCache?: Map<string, string[]>): Promise<StorePath[]> {
    const items = new Map(paths.map((p) => [this.print(p), p]));
    for (const p of items.values()) if (!refsCache?.has(this.print(p))) await this.info(p);
    const sorted: string[] = [];
    const visited = new Set<string>();
    const parents = new Set<string>();
    for (const root of [...items.keys()].sort(cmpAscii)) {
      const stack: { p: string; refs?: string[]; i: number }[] = [{ p: root, i: 0 }];
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        if (top.refs === undefined) {
          if (visited.has(top.p)) {
            stack.pop();
            continue;
          }
          visited.add(top.p);
          parents.add(top.p);
          const refs = refsCache?.get(top.p) ?? (await this.refsOf(top.p));
          top.refs = refs.filter((r) => r !== top.p && items.has(r)).sort(cmpAscii);
        }
        if (top.i < top.refs.length) {
          const r = top.refs[top.i++]!;
          if (parents.has(r)) throw new NixError('E0204', `cycle detected in the references of '${r}' from '${top.p}'`);
          if (!visited.has(r)) stack.push({ p: r, i: 0 });
        } else {
          sorted.push(top.p);
          parents.delete(top.p);
          stack.pop();
        }
      }
    }
    return sorted.reverse().map((f) => items.get(f)!);
  }

  /** Closure as StorePaths (start paths included). */
  async closure(paths: StorePath[], opts: { includeOutputs?: boolean; flipDirection?: boolean; includeDerivers?: boolean } = {}, refsOut?: Map<string, string[]>): Promise<StorePath[]> {
    const full = this.local
      ? this.local.computeFSClosureSync(paths, { ...opts, referencesOut: refsOut })
      : await this.store.computeFSClosure(paths, opts);
    return [...full].map((f) => this.storeDir.parse(f));
  }
}

/** Printed store paths share the store dir and have ASCII base names, so UTF-16 order is byte order. */
export const cmpAscii = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
export const cmpPaths = (a: StorePath, b: StorePath): number => compareUtf8(a.baseName, b.baseName);

/** Writable, or not there yet (a local store creates it). */
function stateDirWritable(dir: string): boolean {
  try {
    accessSync(dir, C.W_OK);
    return true;
  } catch {
    return !existsSync(dir);
  }
}

/**
 * Open the store the settings name: local stores directly (fast start), a
 * daemon or `unix://` store through glue's `openStore` (protocol client).
 */
export async function openAnyStore(ctx: CliContext): Promise<Store> {
  const o = { settings: ctx.settings, dirs: ctx.dirs, env: ctx.env };
  const uri = storeUri(o);
  const auto = uri === 'auto' || uri === '';
  if (isRemoteStoreUri(uri) || (auto && !stateDirWritable(ctx.dirs.stateDir))) {
    const { openStore } = await import('../../glue/index.js');
    return openStore(o);
  }
  return openLocalStore(o);
}

export async function withAnyStore<T>(ctx: CliContext, fn: (v: StoreView) => Promise<T>): Promise<T> {
  const store = await openAnyStore(ctx);
  try {
    return await fn(new StoreView(store));
  } finally {
    await store.close?.();
  }
}


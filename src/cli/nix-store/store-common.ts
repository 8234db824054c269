/**
 * Helpers shared by the store team's `nix-store` operations: opening the
 * store from the CLI context, resolving arguments to store paths
 * (`followLinksToStorePath`), and Nix's usage errors.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NixError, CoreErrorCode } from '../../core/index.js';
import type { StoreDir, StorePath } from '../../formats/index.js';
import type { LocalStore } from '../../store/index.js';
import { openLocalStore } from '../../glue/index.js';
import type { CliContext } from '../context.js';

export { usageError } from '../args.js';

export function openCliStore(ctx: CliContext): LocalStore {
  return openLocalStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env });
}

/** Run `fn` with an open store, closing it (and its temp roots) afterwards. */
export async function withStore<T>(ctx: CliContext, fn: (s: LocalStore) => Promise<T>): Promise<T> {
  const store = openCliStore(ctx);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function absPath(p: string, cwd = process.cwd()): string {
  return resolve(cwd, p);
}

/** Follow symlinks until the path is inside the store (Nix `followLinksToStore`). */
export function followLinksToStore(store: { storeDir: StoreDir }, arg: string): string {
  let path = absPath(arg);
  for (let i = 0; i < 1024 && !store.storeDir.isInStore(path); i++) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      throw new NixError(CoreErrorCode.E_IO, `getting status of '${path}': No such file or directory`);
    }
    if (!st.isSymbolicLink()) break;
    path = resolve(dirname(path), readlinkSync(path));
  }
  if (!store.storeDir.isInStore(path)) throw new NixError(CoreErrorCode.E_USAGE, `path '${path}' is not in the Nix store`);
  return path;
}

export function followLinksToStorePath(store: { storeDir: StoreDir }, arg: string): StorePath {
  return store.storeDir.toStorePath(followLinksToStore(store, arg))[0];
}

export function notValid(store: LocalStore, p: StorePath): NixError {
  return new NixError('E0201', `path '${store.print(p)}' is not valid`);
}

export function write(ctx: CliContext, s: string): void {
  ctx.stdout.write(s);
}

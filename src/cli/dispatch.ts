/**
 * Lazy command loading: a command lives in its own module, loaded only when
 * invoked, so start-up stays small and commands not written yet answer
 * "not implemented yet" (exit 1) instead of failing to load.
 *
 * Modules that exist are listed with literal `import()`s so a bundler
 * (scripts/bundle.mjs) can split them into per-command chunks; a path not in
 * the table (a module added later, or one not written yet) is imported by
 * URL, which yields "not implemented yet" when the file is absent.
 */
import { NixError, CoreErrorCode } from '../core/index.js';
import type { CliContext, CommandModule } from './context.js';

/** Command module path (relative to this directory) → loader. */
const LOADERS: Record<string, () => Promise<unknown>> = {
  './nix-build.js': () => import('./nix-build.js'),
  './nix-daemon.js': () => import('./nix-daemon.js'),
  './nix-hash.js': () => import('./nix-hash.js'),
  './nix-instantiate.js': () => import('./nix-instantiate.js'),
  './nix-store.js': () => import('./nix-store.js'),
  './nix-store/add-fixed.js': () => import('./nix-store/add-fixed.js'),
  './nix-store/add.js': () => import('./nix-store/add.js'),
  './nix-store/check-validity.js': () => import('./nix-store/check-validity.js'),
  './nix-store/delete.js': () => import('./nix-store/delete.js'),
  './nix-store/dump-db.js': () => import('./nix-store/dump-db.js'),
  './nix-store/dump.js': () => import('./nix-store/dump.js'),
  './nix-store/export.js': () => import('./nix-store/export.js'),
  './nix-store/gc.js': () => import('./nix-store/gc.js'),
  './nix-store/import.js': () => import('./nix-store/import.js'),
  './nix-store/init.js': () => import('./nix-store/init.js'),
  './nix-store/load-db.js': () => import('./nix-store/load-db.js'),
  './nix-store/optimise.js': () => import('./nix-store/optimise.js'),
  './nix-store/print-fixed-path.js': () => import('./nix-store/print-fixed-path.js'),
  './nix-store/query.js': () => import('./nix-store/query.js'),
  './nix-store/read-log.js': () => import('./nix-store/read-log.js'),
  './nix-store/realise.js': () => import('./nix-store/realise.js'),
  './nix-store/register-validity.js': () => import('./nix-store/register-validity.js'),
  './nix-store/restore.js': () => import('./nix-store/restore.js'),
  './nix-store/verify-path.js': () => import('./nix-store/verify-path.js'),
  './nix-store/verify.js': () => import('./nix-store/verify.js'),
  './nix-store/version.js': () => import('./nix-store/version.js'),
  './nix-store/print-env.js': () => import('./nix-store/print-env.js'),
  './nix-store/repair-path.js': () => import('./nix-store/repair-path.js'),
  './nix-store/generate-binary-cache-key.js': () => import('./nix-store/generate-binary-cache-key.js'),
  './nix-store/serve.js': () => import('./nix-store/serve.js'),
  './nix/store-ping.js': () => import('./nix/store-ping.js'),
  './nix/store-repair.js': () => import('./nix/store-repair.js'),
  './nix/store-optimise.js': () => import('./nix/store-optimise.js'),
  './nix/key.js': () => import('./nix/key.js'),
  './nix.js': () => import('./nix.js'),
  './nix/build.js': () => import('./nix/build.js'),
  './nix/derivation-show.js': () => import('./nix/derivation-show.js'),
  './nix/eval.js': () => import('./nix/eval.js'),
  './nix/hash.js': () => import('./nix/hash.js'),
  './nix/log.js': () => import('./nix/log.js'),
  './nix/path-info.js': () => import('./nix/path-info.js'),
  './nix/store-add.js': () => import('./nix/store-add.js'),
  './nix/store-cat.js': () => import('./nix/store-cat.js'),
  './nix/store-delete.js': () => import('./nix/store-delete.js'),
  './nix/store-dump-path.js': () => import('./nix/store-dump-path.js'),
  './nix/store-gc.js': () => import('./nix/store-gc.js'),
  './nix/store-ls.js': () => import('./nix/store-ls.js'),
  './nix/store-verify.js': () => import('./nix/store-verify.js'),
  './tix-log.js': () => import('./tix-log.js'),
};

/** The module paths with a literal loader (for the completeness test). */
export function bundledCommandModules(): string[] {
  return Object.keys(LOADERS);
}

export async function loadCommand(relPath: string, what: string): Promise<CommandModule> {
  const literal = Object.prototype.hasOwnProperty.call(LOADERS, relPath) ? LOADERS[relPath] : undefined;
  if (literal !== undefined) return (await literal()) as CommandModule;
  const url = new URL(relPath, import.meta.url).href;
  try {
    return (await import(url)) as CommandModule;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(relPath.replace(/^\.\//, ''))) {
      throw new NixError(CoreErrorCode.E_NOT_IMPLEMENTED, `'${what}' is not implemented yet`);
    }
    throw e;
  }
}

export async function runModule(relPath: string, what: string, args: string[], ctx: CliContext): Promise<number> {
  const mod = await loadCommand(relPath, what);
  return mod.run(args, ctx);
}

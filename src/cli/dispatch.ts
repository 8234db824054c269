/**
 * Lazy command loading: a command lives in its own module, loaded only when
 * invoked, so start-up stays small and commands not written yet answer
 * "not implemented yet" (exit 1) instead of failing to load.
 */
import { NixError, CoreErrorCode } from '../core/index.js';
import type { CliContext, CommandModule } from './context.js';

export async function loadCommand(relPath: string, what: string): Promise<CommandModule> {
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

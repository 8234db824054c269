/**
 * `tix log [--recursive] [--json] PATH…`. Without `--recursive` this is
 * `nix log`. With it, it prints the record of every recursive-nix call the
 * build of PATH made (op, path, result), which Nix has no equivalent for
 * (docs/recursive-builds.md, item 6.8). PATH is a `.drv` or an output path
 * (then its deriver's record is shown).
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { NixError, CoreErrorCode } from '../core/index.js';
import { StoreDir, type StorePath } from '../formats/index.js';
import { formatCall, readCallLog, recursiveLogFile } from '../build/index.js';
import { openStore } from '../glue/index.js';
import type { CliContext } from './context.js';
import { runModule } from './dispatch.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  if (!args.includes('--recursive')) return runModule('./nix/log.js', 'nix log', ['log', ...args], ctx);
  const json = args.includes('--json');
  const paths = args.filter((a) => a !== '--recursive' && a !== '--json');
  if (paths.length === 0) throw new NixError(CoreErrorCode.E_USAGE, "'tix log --recursive' needs a derivation or output path");
  const unknown = paths.find((a) => a.startsWith('-'));
  if (unknown !== undefined) throw new NixError(CoreErrorCode.E_USAGE, `unrecognised flag '${unknown}'`);
  const storeDir = new StoreDir(ctx.dirs.storeDir);
  for (const arg of paths) {
    const drv = await derivationOf(storeDir, arg, ctx);
    const calls = readCallLog(recursiveLogFile(ctx.dirs.logDir, drv.baseName));
    if (calls === undefined) {
      throw new NixError(CoreErrorCode.E_USAGE, `build of '${storeDir.print(drv)}' made no recursive Nix calls (or was not built here)`);
    }
    if (json) ctx.stdout.write(JSON.stringify(calls) + '\n');
    else for (const c of calls) ctx.stdout.write(`${new Date(c.time).toISOString()} ${formatCall(c)}\n`);
  }
  return 0;
}

/** The `.drv` itself, or the deriver of an output path. */
async function derivationOf(storeDir: StoreDir, arg: string, ctx: CliContext): Promise<StorePath> {
  let full = resolve(arg);
  // `./result` and other links to the store.
  if (!storeDir.isInStore(full)) full = realpathSync(full);
  const [path] = storeDir.toStorePath(full);
  if (path.isDerivation()) return path;
  const store = await openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env, readOnly: true });
  try {
    const info = await store.queryPathInfo(path);
    if (info?.deriver === undefined) throw new NixError(CoreErrorCode.E_USAGE, `path '${storeDir.print(path)}' has no known deriver`);
    return info.deriver;
  } finally {
    await store.close?.();
  }
}

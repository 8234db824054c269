/**
 * `nix show-derivation [-r] DRV…` (2.8 src/nix/show-derivation.cc; later
 * Nix calls it `nix derivation show`). Reads `.drv` files straight from the
 * store directory; unlike 2.8 it does not consult the store DB for validity,
 * so it works on any readable store. Output is 2.8's JSON, byte for byte.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { NixError, CoreErrorCode } from '../../core/index.js';
import { StoreDir, derivationNameFromPath, parseDerivation, showDerivationJson, type Derivation } from '../../formats/index.js';
import { takeCommonFlags, usageError } from '../args.js';
import type { CliContext } from '../context.js';

/** An argument → a `.drv` path in the store (following symlinks such as GC roots). */
function toDrvPath(arg: string, sd: StoreDir): string {
  let p = resolve(arg);
  if (!sd.isInStore(p)) {
    try {
      p = realpathSync(p);
    } catch {
      throw new NixError(CoreErrorCode.E_IO, `getting status of '${p}': No such file or directory`);
    }
  }
  const [sp, rest] = sd.toStorePath(p);
  if (rest !== '' || !sp.isDerivation()) throw new NixError(CoreErrorCode.E_USAGE, `'${p}' is not a derivation`);
  return sd.print(sp);
}

export function readDerivationFile(drvPath: string, sd: StoreDir): Derivation {
  let text: Buffer;
  try {
    text = readFileSync(drvPath);
  } catch {
    throw new NixError(CoreErrorCode.E_IO, `path '${drvPath}' is not valid`);
  }
  try {
    return parseDerivation(text, derivationNameFromPath(drvPath), { storeDir: sd });
  } catch (e) {
    throw new NixError(CoreErrorCode.E_IO, `error parsing derivation '${drvPath}': ${(e as Error).message}`);
  }
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  ctx.settings.requireExperimental('nix-command');
  const rest = takeCommonFlags(args.slice(args[0] === 'derivation' ? 2 : 1), ctx).rest;
  let recursive = false;
  const items: string[] = [];
  for (const a of rest) {
    if (a === '-r' || a === '--recursive') recursive = true;
    else if (a.startsWith('-') && a.length > 1) throw usageError(`unrecognised flag '${a}'`);
    else items.push(a);
  }
  const sd = new StoreDir(ctx.dirs.storeDir);
  const drvs = new Map<string, Derivation>();
  const todo = items.map((i) => toDrvPath(i, sd));
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (drvs.has(p)) continue;
    const drv = readDerivationFile(p, sd);
    drvs.set(p, drv);
    if (recursive) todo.push(...drv.inputDrvs.keys());
  }
  ctx.stdout.write(Buffer.from(showDerivationJson(drvs), 'latin1'));
  return 0;
}

/**
 * `nix-store --print-fixed-path [--recursive] ALGO HASH NAME`
 * (nix-store.cc `opPrintFixedPath`): pure path computation, no store needed.
 */
import { StoreDir, parseHash, parseHashType } from '../../formats/index.js';
import { takeCommonFlags, usageError } from '../args.js';
import type { CliContext } from '../context.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const rest = takeCommonFlags(args, ctx).rest.filter((a) => a !== '--');
  let recursive = false;
  const pos: string[] = [];
  for (const a of rest) {
    if (a === '--recursive') recursive = true;
    else if (a.startsWith('-')) throw usageError(`unknown flag '${a}'`);
    else pos.push(a);
  }
  if (pos.length !== 3) throw usageError("'--print-fixed-path' requires three arguments");
  const [algo, hash, name] = pos as [string, string, string];
  const h = parseHash(hash, parseHashType(algo));
  const sd = new StoreDir(ctx.dirs.storeDir);
  ctx.stdout.write(sd.print(sd.makeFixedOutputPath({ recursive, hash: h, name })) + '\n');
  return 0;
}

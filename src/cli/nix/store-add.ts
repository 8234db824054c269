/**
 * `nix store add-path` / `nix store add-file` (nix/add-to-store.cc):
 * add as `fixed:r:sha256` (path) or `fixed:sha256` (file), `--name`/`-n`,
 * `--dry-run` (print the path without adding).
 */
import { basename, resolve } from 'node:path';
import { StoreDir } from '../../formats/index.js';
import { hashFile, hashPath } from '../../store/index.js';
import { missingFlagArgs, takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { withAnyStore } from '../nix-store/store-view.js';
import { addPath } from '../nix-store/add-path.js';
import { dropWords, nixUsage } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const flat = args.includes('add-file') && !args.includes('add-path');
  const { rest } = takeCommonFlags(dropWords(args, ['store', flat ? 'add-file' : 'add-path']), ctx);
  let name: string | undefined;
  let dryRun = false;
  const pos: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--name' || a === '-n') {
      name = rest[++i];
      if (name === undefined) throw missingFlagArgs(a, 1);
    } else if (a === '--dry-run') dryRun = true;
    else if (a.startsWith('-') && a !== '-') throw nixUsage(`unrecognised flag '${a}'`);
    else pos.push(a);
  }
  if (pos.length !== 1) throw nixUsage(pos.length === 0 ? "missing argument 'path'" : `unexpected argument '${pos[1]}'`);
  const path = resolve(pos[0]!);
  const n = name ?? basename(path);
  return withAnyStore(ctx, async (v) => {
    if (dryRun) {
      const hash = flat ? hashFile(path, 'sha256') : hashPath(path, 'sha256').hash;
      ctx.stdout.write(new StoreDir(v.storeDir.dir).print(v.storeDir.makeFixedOutputPath({ recursive: !flat, hash, name: n })) + '\n');
      return 0;
    }
    const info = await addPath(v.store, { name: n, fsPath: path, method: flat ? 'flat' : 'recursive', hashAlgo: 'sha256', preserveExecutable: true });
    ctx.stdout.write(v.print(info.path) + '\n');
    return 0;
  });
}

/**
 * `nix-store --gc` (nix-store.cc `opGC`): `--print-roots`, `--print-live`,
 * `--print-dead`, `--max-freed N[KMGT]`; deleting prints
 * "N store paths deleted, X.XX MiB freed".
 */

import { LocalStore, collectGarbage, findRootsMap, formatRoots, removeUnusedLinks, type RootMap, type Store } from '../../store/index.js';
import type { GCOptions, GCResults } from '../../store/index.js';
import { missingArg, takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';
import { withAnyStore } from './store-view.js';

/** Nix `getIntArg` with units (K, M, G, T). */
export function parseSize(flag: string, s: string | undefined): number {
  if (s === undefined) throw missingArg(flag);
  const m = /^(-?\d+)([KMGT]?)$/.exec(s);
  if (m === null) throw usageError(`flag '${flag}' requires an integer argument`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.max(Number(m[1]) * mult, 0);
}

export function freedLine(r: GCResults): string {
  return `${r.paths.length} store paths deleted, ${(r.bytesFreed / (1024 * 1024)).toFixed(2)} MiB freed\n`;
}

/** Collect on any store; a local one reports progress as Nix does. */
export async function runGC(store: Store, opts: GCOptions, ctx: CliContext): Promise<GCResults> {
  const log = { info: (m: string) => ctx.stderr.write(m + '\n') };
  if (!(store instanceof LocalStore)) return store.collectGarbage(opts);
  const r = await collectGarbage(store, opts, log);
  if (opts.action === 'deleteDead' || opts.action === 'deleteSpecific') {
    log.info('deleting unused links...');
    const { savedBytes } = removeUnusedLinks(store.storeDir.dir);
    log.info(`note: currently hard linking saves ${(savedBytes / (1024 * 1024)).toFixed(2)} MiB`);
  }
  return r;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  let printRoots = false;
  const opts: GCOptions = { action: 'deleteDead' };
  const pos: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--print-roots') printRoots = true;
    else if (a === '--print-live') opts.action = 'returnLive';
    else if (a === '--print-dead') opts.action = 'returnDead';
    else if (a === '--max-freed') opts.maxFreed = parseSize(a, rest[++i]);
    else if (a.startsWith('-')) throw usageError(`bad sub-operation '${a}' in GC`);
    else pos.push(a);
  }
  if (pos.length > 0) throw usageError('no arguments expected');
  return withAnyStore(ctx, async (v) => {
    if (printRoots) {
      const roots: RootMap = v.local
        ? await findRootsMap(v.local, false, { info: (m) => ctx.stderr.write(m + '\n') })
        : new Map([...(await v.store.findRoots(false))].map(([p, ls]) => [v.print(p), ls]));
      for (const l of formatRoots(roots)) ctx.stdout.write(l + '\n');
      return 0;
    }
    const r = await runGC(v.store, opts, ctx);
    if (opts.action !== 'deleteDead') for (const p of r.paths) ctx.stdout.write(p + '\n');
    else ctx.stdout.write(freedLine(r));
    return 0;
  });
}


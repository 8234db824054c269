/**
 * Shared by the store team's `nix` subcommands: resolving installables that
 * are store paths (or links to them), and the "don't know how to build"
 * report Nix 2.8 prints for opaque paths that are not valid.
 */
import { existsSync } from 'node:fs';
import { NixError, CoreErrorCode } from '../../core/index.js';
import type { StoreDir, StorePath } from '../../formats/index.js';
import type { DerivedPath } from '../../store/index.js';
import type { StoreView } from '../nix-store/store-view.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath } from '../nix-store/store-common.js';

/** Drop the leading command words (`store`, `gc`, …) the dispatcher passes through. */
export function dropWords(args: string[], words: string[]): string[] {
  const out = [...args];
  for (const w of words) {
    const i = out.indexOf(w);
    if (i >= 0) out.splice(i, 1);
  }
  return out;
}

export { usageError as nixUsage } from '../args.js';

/** Installables that name store paths: a path in the store or a symlink chain into it. */
export function resolveInstallables(storeDir: StoreDir, args: string[]): StorePath[] {
  return args.map((a) => {
    if (!a.includes('/') && !existsSync(a)) {
      throw new NixError(CoreErrorCode.E_NOT_IMPLEMENTED, `flake installables ('${a}') are not supported by tix yet`);
    }
    return followLinksToStorePath({ storeDir }, a);
  });
}

/** Nix 2.8 reports opaque installables that are not valid before failing on them. */
export async function reportUnknown(v: StoreView, paths: StorePath[], ctx: CliContext): Promise<StorePath[]> {
  const unknown: StorePath[] = [];
  for (const p of paths) if ((await v.tryInfo(p)) === undefined) unknown.push(p);
  if (unknown.length > 0) {
    ctx.stderr.write("don't know how to build these paths:\n" + unknown.map((p) => `  ${v.print(p)}\n`).join(''));
  }
  return unknown;
}

/**
 * 2.8 takes a `.drv` installable as all of its outputs, without building
 * (`Realise::Nothing`): `printMissing` at error level (derivations to build,
 * then opaque paths it does not know), then the outputs' paths from the
 * derivation, valid or not. Returns the paths and the unknown opaque ones.
 * The same for every store-path command (path-info, store verify/dump-path/delete).
 */
export async function resolvePathInstallables(v: StoreView, paths: StorePath[], ctx: CliContext): Promise<{ paths: StorePath[]; unknown: StorePath[] }> {
  if (!paths.some((p) => p.isDerivation())) return { paths, unknown: await reportUnknown(v, paths, ctx) };
  const targets: DerivedPath[] = paths.map((p) => (p.isDerivation() ? { kind: 'built', drvPath: p, outputs: 'all' } : { kind: 'opaque', path: p }));
  const missing = v.store.queryMissing ? await v.store.queryMissing(targets) : await (await import('../../build/index.js')).queryMissing(v.store, targets);
  const n = missing.willBuild.length;
  let msg = '';
  if (n > 0) msg += (n === 1 ? 'this derivation will be built:\n' : `these ${n} derivations will be built:\n`) + missing.willBuild.map((p) => `  ${v.print(p)}\n`).sort().join('');
  if (missing.unknown.length > 0) msg += "don't know how to build these paths:\n" + missing.unknown.map((p) => `  ${v.print(p)}\n`).join('');
  ctx.stderr.write(msg);
  const out: StorePath[] = [];
  for (const p of paths) {
    if (!p.isDerivation()) out.push(p);
    else for (const q of (await v.store.queryDerivationOutputMap(p)).values()) if (q) out.push(q);
  }
  return { paths: out, unknown: missing.unknown };
}

/**
 * Shared by the store team's `nix` subcommands: resolving installables that
 * are store paths (or links to them), and the "don't know how to build"
 * report Nix 2.8 prints for opaque paths that are not valid.
 */
import { existsSync } from 'node:fs';
import { NixError, CoreErrorCode } from '../../core/index.js';
import type { StorePath } from '../../formats/index.js';
import type { LocalStore } from '../../store/index.js';
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

export function nixUsage(msg: string): NixError {
  return new NixError(CoreErrorCode.E_USAGE, msg, { hint: "Try 'nix --help' for more information." });
}

/** Installables that name store paths: a path in the store or a symlink chain into it. */
export function resolveInstallables(store: LocalStore, args: string[]): StorePath[] {
  return args.map((a) => {
    if (!a.includes('/') && !existsSync(a)) {
      throw new NixError(CoreErrorCode.E_NOT_IMPLEMENTED, `flake installables ('${a}') are not supported by tix yet`);
    }
    return followLinksToStorePath(store, a);
  });
}

/** Nix 2.8 reports opaque installables that are not valid before failing on them. */
export function reportUnknown(store: LocalStore, paths: StorePath[], ctx: CliContext): StorePath[] {
  const unknown = paths.filter((p) => store.queryPathInfoSync(p) === undefined);
  if (unknown.length > 0) {
    ctx.stderr.write("don't know how to build these paths:\n" + unknown.map((p) => `  ${store.print(p)}\n`).join(''));
  }
  return unknown;
}

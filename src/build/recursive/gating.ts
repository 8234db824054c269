/**
 * Who gets a recursive-nix socket (Nix 2.8 `getDefaultSystemFeatures`,
 * `startBuilder`, spec recursive-nix.md §6):
 * - the `recursive-nix` experimental feature adds `recursive-nix` to the
 *   store's default system features (even over a user `system-features`);
 * - only a derivation whose `requiredSystemFeatures` lists it gets the socket;
 * - starting the daemon with the feature off fails with Nix's text.
 */
import type { Settings } from '../../core/index.js';

export const RECURSIVE_NIX = 'recursive-nix';

/** The system features a store offers, given the configured ones. */
export function withRecursiveFeature(features: readonly string[], settings: Settings): string[] {
  const out = [...features];
  if (settings.isExperimentalEnabled(RECURSIVE_NIX) && !out.includes(RECURSIVE_NIX)) out.push(RECURSIVE_NIX);
  return out;
}

/** Whether a derivation (by its `requiredSystemFeatures`) gets a socket. */
export function wantsRecursiveNix(requiredSystemFeatures: readonly string[]): boolean {
  return requiredSystemFeatures.includes(RECURSIVE_NIX);
}

/** Throws "experimental Nix feature 'recursive-nix' is disabled; …" when off. */
export function requireRecursiveNix(settings: Settings): void {
  settings.requireExperimental(RECURSIVE_NIX);
}

/** The socket's file name in the build dir. */
export const SOCKET_NAME = '.nix-socket';

/** `NIX_REMOTE` for the builder: the build dir as the builder sees it (`/build` in the sandbox). */
export function recursiveNixRemote(buildDirInBuilder: string): string {
  return `unix://${buildDirInBuilder}/${SOCKET_NAME}`;
}

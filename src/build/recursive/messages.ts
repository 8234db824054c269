/**
 * The exact texts of recursive Nix's errors (Nix 2.8 `RestrictedStore` and
 * `LocalDerivationGoal`, spec recursive-nix.md Appendix A), plus tix's own texts
 * for the checks upstream lacks. Every user-visible string of this module lives
 * here so tests can compare against one table.
 */
import type { DerivedPath } from '../../store/index.js';
import type { StoreDir } from '../../formats/index.js';

/** How 2.8 prints a DerivedPath in these messages: `p`, `drv!out,dev` or `drv!*`. */
export function printDerivedPath(storeDir: StoreDir, p: DerivedPath): string {
  if (p.kind === 'opaque') return storeDir.print(p.path);
  const outs = p.outputs === 'all' ? '*' : p.outputs.join(',');
  return `${storeDir.print(p.drvPath)}!${outs}`;
}

export const msg = {
  cannotBuild: (what: string) => `cannot build '${what}' in recursive Nix because path is unknown`,
  cannotSubstitute: (path: string) => `cannot substitute unknown path '${path}' in recursive Nix`,
  cannotDump: (path: string) => `cannot dump unknown path '${path}' in recursive Nix`,
  cannotQueryOutputMap: (path: string) => `cannot query output map for unknown path '${path}' in recursive Nix`,
  unsupportedBuildMode: () => 'unsupported build mode',
  unsupported: (op: string, store: string) => `operation '${op}' is not supported by store '${store}'`,
  alreadyInSandbox: (path: string) => `store path '${path}' already exists in the sandbox`,
  couldNotAdd: (path: string) => `could not add path '${path}' to sandbox`,
  // Beyond upstream: tix's own texts.
  forgedReference: (path: string, ref: string) =>
    `cannot add '${path}' in recursive Nix: it claims a reference to '${ref}', which this build may not access`,
  contentMismatch: (path: string) =>
    `cannot add '${path}' in recursive Nix: the path is already valid and the given contents differ from it`,
  systemMismatch: (drv: string, system: string, outer: string) =>
    `cannot build '${drv}' in recursive Nix: it is for system '${system}', but the enclosing build is for '${outer}'`,
  featureMismatch: (drv: string, feature: string) =>
    `cannot build '${drv}' in recursive Nix: it requires system feature '${feature}', which the enclosing build does not have`,
  fixedOutputRefused: (drv: string, policy: string) =>
    `cannot build fixed-output derivation '${drv}' in recursive Nix (recursive-nix-fixed-output = ${policy})`,
  cycle: (drv: string) =>
    `cannot build '${drv}' in recursive Nix: it is already being built by an enclosing build (recursion cycle)`,
  depth: (drv: string, limit: number) =>
    `cannot build '${drv}' in recursive Nix: recursion deeper than recursive-nix-max-depth (${limit})`,
  buildFinished: () => 'the recursive Nix socket is closed: the enclosing build has finished',
} as const;

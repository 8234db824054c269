/**
 * Constants of the legacy SSH store protocol (libstore/serve-protocol.hh,
 * Nix 2.8): what `nix-store --serve` speaks to `ssh://` stores. Versions
 * are `(major << 8) | minor`; 2.8 is 2.7 and gates fields on the client's minor.
 */
export const SERVE_MAGIC_1 = 0x390c9deb;
export const SERVE_MAGIC_2 = 0x5452eecb;

/** 2.8's SERVE_PROTOCOL_VERSION: 2.7. */
export const SERVE_PROTOCOL_VERSION = (2 << 8) | 7;

export function serveMinor(version: number): number {
  return version & 0xff;
}

/** The commands (2.8 `ServeCommand`). */
export const ServeCommand = {
  QueryValidPaths: 1,
  QueryPathInfos: 2,
  DumpStorePath: 3,
  ImportPaths: 4,
  ExportPaths: 5,
  BuildPaths: 6,
  QueryClosure: 7,
  BuildDerivation: 8,
  AddToStoreNar: 9,
} as const;

/** Error codes of recursive Nix (E07xx): the per-build restricted daemon. */
export const RecursiveErrorCode = {
  /** A path outside the allowed set was asked for (build, substitute, dump, output map). */
  E_PATH_UNKNOWN: 'E0701',
  /** An op the restricted store refuses outright (bare-name errors of 2.8). */
  E_OP_REFUSED: 'E0702',
  /** `operation '%s' is not supported by store '%s'`. */
  E_OP_UNSUPPORTED: 'E0703',
  /** A build mode other than normal. */
  E_BUILD_MODE: 'E0704',
  /** An add whose claimed references lie outside the allowed set (beyond upstream). */
  E_FORGED_REFERENCE: 'E0705',
  /** Inner derivation for another system or with features the outer build lacks (beyond upstream). */
  E_SYSTEM_MISMATCH: 'E0706',
  /** Fixed-output derivation refused by `recursive-nix-fixed-output` (beyond upstream). */
  E_FIXED_OUTPUT_REFUSED: 'E0707',
  /** Recursion cycle or depth limit (beyond upstream). */
  E_RECURSION_LIMIT: 'E0708',
  /** The path could not be made to appear in the sandbox. */
  E_SANDBOX_ADD: 'E0709',
  /** The outer build already finished; the socket is closed. */
  E_BUILD_FINISHED: 'E0710',
  /** An inner build failed. */
  E_INNER_BUILD_FAILED: 'E0711',
  /** An add of an already-valid path whose content does not match (beyond upstream). */
  E_CONTENT_MISMATCH: 'E0712',
  /** Bad value of a recursive-nix setting. */
  E_SETTING: 'E0713',
  /** The per-build socket could not be created. */
  E_SOCKET: 'E0714',
} as const;

/**
 * The `--type TYPE` flag that `nix-hash` and `nix hash` share (2.8
 * src/nix/hash.cc): TYPE goes through `parseHashType`, and a name it does
 * not know is a usage error (with the `--help` hint). A missing TYPE is
 * worded by each command's own parser: nix-hash's legacy `getArg`, `nix
 * hash`'s `Args`.
 */
import { parseHashType, type HashType } from '../formats/index.js';
import { missingArg, missingFlagArgs, usageError } from './args.js';

/** The hash type after `--type` at `args[i]`. */
export function hashTypeArg(args: readonly string[], i: number, parser: 'legacy' | 'args'): HashType {
  if (i + 1 >= args.length) throw parser === 'legacy' ? missingArg('--type') : missingFlagArgs('--type', 1);
  try {
    return parseHashType(args[i + 1]!);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

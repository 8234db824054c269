/**
 * Fetchers (fetchurl, fetchTarball, fetchGit, fetchMercurial, fetchTree)
 * need the store: these defaults fail clearly; glue registers the real ones
 * (`EvalOptions.extraBuiltins`), as in Nix 2.8 where they live in
 * libfetchers.
 */
import { EvalError, EvalErrorCode } from '../errors.js';
import type { BuiltinRegistry } from './registry.js';

export function register(r: BuiltinRegistry): void {
  for (const name of ['fetchurl', 'fetchTarball', 'fetchGit', 'fetchMercurial', 'fetchTree']) {
    r.add(name, 1, (_a, pos) => {
      throw new EvalError(EvalErrorCode.E_EVAL, `'${name}' is not available in this evaluator (no store)`, pos);
    });
  }
}

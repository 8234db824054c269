/**
 * `derivation`: Nix 2.8 implements it in Nix on top of `derivationStrict`
 * (which returns `{ drvPath; <output> = path; … }`); the result is the first
 * output's attribute set: the original attrs plus one set per output, `all`,
 * `drvAttrs`, `drvPath`, `outPath`, `outputName`, `type = "derivation"`.
 * We keep it as Nix source compiled on first use, so laziness and
 * attribute order are exactly those of the Nix definition.
 *
 * `derivationStrict` needs the store (writing the `.drv`); its default here
 * reports that no store is available; glue registers the real one
 * (`EvalOptions.extraBuiltins`).
 */
import type * as A from '../ast.js';
import { EvalError, EvalErrorCode } from '../errors.js';
import type { BuiltinRegistry } from './registry.js';

/** The name 2.8 gives its built-in derivation.nix (not a readable file:
 *  positions in it are shown without an excerpt). */
export const DERIVATION_NIX_PATH = '//builtin/derivation.nix';

// Laid out line for line and column for column as 2.8's derivation.nix
// (which 2.8 parses with one leading newline): positions inside it
// (`//builtin/derivation.nix:9:12`, the `drvPath` attribute at 20:9) show
// in error traces, without an excerpt.
const DERIVATION_NIX = `
# tix: the 'derivation' builtin, in Nix, over the 'derivationStrict'
# primop; the layout matters, not the comments.

drvAttrs @ { outputs ? [ "out" ], ... }:

let

  strict = derivationStrict drvAttrs;

  commonAttrs = drvAttrs // (builtins.listToAttrs outputsList) //
    { all = map (x: x.value) outputsList;
      inherit drvAttrs;
    };

  outputToAttrListElement = outputName:
    { name = outputName;
      value = commonAttrs // {
        outPath = builtins.getAttr outputName strict;
        drvPath = strict.drvPath;
        type = "derivation";
        inherit outputName;
      };
    };

  outputsList = map outputToAttrListElement outputs;

in (builtins.head outputsList).value
`;

export function register(r: BuiltinRegistry): void {
  r.constant('derivation', (state) => {
    const source: A.Source = { origin: 'file', path: DERIVATION_NIX_PATH, text: DERIVATION_NIX };
    return state.evalExpr(state.parseSource(source, '/'));
  });
  r.add('derivationStrict', 1, (_a, pos) => {
    throw new EvalError(EvalErrorCode.E_EVAL, 'derivationStrict: no store is available to this evaluator', pos);
  });
}

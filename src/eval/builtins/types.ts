/** Type predicates and `typeOf` (Nix 2.8 primops `isInt`, `typeOf`, …). */
import {
  Lambda, NixAttrs, NixFloat, NixPath, NixString, PrimOp, PrimOpApp, force, typeOfName,
} from '../value.js';
import type { BuiltinRegistry } from './registry.js';

export function register(r: BuiltinRegistry): void {
  r.add('isAttrs', 1, (args) => { const v = args[0]; return force(v!) instanceof NixAttrs; });
  r.add('isBool', 1, (args) => { const v = args[0]; return typeof force(v!) === 'boolean'; });
  r.add('isFloat', 1, (args) => { const v = args[0]; return force(v!) instanceof NixFloat; });
  r.add('isFunction', 1, (args) => { const v = args[0];
    const x = force(v!);
    return x instanceof Lambda || x instanceof PrimOp || x instanceof PrimOpApp;
  });
  r.add('isInt', 1, (args) => { const v = args[0];
    const x = force(v!);
    return typeof x === 'number' || typeof x === 'bigint';
  });
  r.add('isList', 1, (args) => { const v = args[0]; return Array.isArray(force(v!)); });
  r.add('isNull', 1, (args) => { const v = args[0]; return force(v!) === null; });
  r.add('isPath', 1, (args) => { const v = args[0]; return force(v!) instanceof NixPath; });
  r.add('isString', 1, (args) => { const v = args[0];
    const x = force(v!);
    return typeof x === 'string' || x instanceof NixString;
  });
  r.add('typeOf', 1, (args) => { const v = args[0]; return typeOfName(force(v!)); });
}

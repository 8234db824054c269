/**
 * Control and reflection primops (Nix 2.8): throw / assert-like errors
 * (catchable), abort (fatal), tryEval (catches only catchable errors, WHNF
 * only), seq, deepSeq, trace (`trace: …` on stderr when forced),
 * addErrorContext (a trace frame without position).
 */
import { CatchableError, EvalError, EvalErrorCode } from '../errors.js';
import { forceValueDeep, printValue } from '../print.js';
import { NixAttrs, NixString, force, type Lazy } from '../value.js';
import type { BuiltinRegistry } from './registry.js';
import { coerceStr } from './util.js';

export function register(r: BuiltinRegistry): void {
  r.add('throw', 1, (args, pos, state) => { const m = args[0];
    const msg = coerceStr(state, m!, new Set(), pos);
    throw new CatchableError(EvalErrorCode.E_THROWN, msg, null);
  });
  r.add('abort', 1, (args, pos, state) => { const m = args[0];
    const msg = coerceStr(state, m!, new Set(), pos);
    throw new EvalError(EvalErrorCode.E_ABORTED, `evaluation aborted with the following error message: '${msg}'`, null);
  });
  r.add('tryEval', 1, (args) => { const e = args[0];
    try {
      const v = force(e!);
      return NixAttrs.fromEntries([['success', true], ['value', v]]);
    } catch (err) {
      if (err instanceof CatchableError) {
        return NixAttrs.fromEntries([['success', false], ['value', false]]);
      }
      throw err;
    }
  });
  r.add('seq', 2, (args) => { const a = args[0], b = args[1];
    force(a!);
    return force(b!);
  });
  r.add('deepSeq', 2, (args) => { const a = args[0], b = args[1];
    forceValueDeep(a!);
    return force(b!);
  });
  r.add('trace', 2, (args, _pos, state) => { const m = args[0], v = args[1];
    const x = force(m!);
    if (typeof x === 'string') state.trace(`trace: ${x}`);
    else if (x instanceof NixString) state.trace(`trace: ${x.s}`);
    else state.trace(`trace: ${printValue(x)}`);
    return force(v!);
  });
  r.add('addErrorContext', 2, (args, pos, state) => { const c = args[0], v = args[1];
    try {
      return force(v!);
    } catch (err) {
      if (err instanceof EvalError) err.addFrame(coerceStr(state, c!, new Set(), pos), null);
      throw err;
    }
  });
}

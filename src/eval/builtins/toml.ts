/**
 * `builtins.fromTOML` (Nix 2.8 primops/fromTOML.cc over toml11): tables →
 * sets, arrays → lists, integers as 64-bit ints, floats, strings; any date
 * or time is an error ("Dates and times are not supported"). Parse errors are
 * `while parsing a TOML string: …` (the detail text differs from toml11's).
 * Parsing uses smol-toml (TOML 1.0), integers kept exact as bigint.
 */
import { createRequire } from 'node:module';
import type * as SmolToml from 'smol-toml';
import { EvalError, EvalErrorCode } from '../errors.js';
import { NixAttrs, NixFloat, cString, forceStrNoCtx, mkInt, type Lazy, type Value } from '../value.js';
import type { BuiltinRegistry } from './registry.js';

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

class DateError extends Error {}

// Loaded on first use (its single-file CommonJS build): most evaluations never parse TOML,
// and start-up time matters for every nix-instantiate.
let smol: typeof SmolToml | undefined;
function toml(): typeof SmolToml {
  return (smol ??= createRequire(import.meta.url)('smol-toml') as typeof SmolToml);
}

function convert(x: unknown): Value {
  if (typeof x === 'bigint') return mkInt(x > I64_MAX ? I64_MAX : x < I64_MIN ? I64_MIN : x);
  if (typeof x === 'number') return new NixFloat(x);
  if (typeof x === 'boolean') return x;
  if (typeof x === 'string') return cString(Buffer.from(x, 'utf8').toString('latin1'));
  if (x instanceof toml().TomlDate || x instanceof Date) throw new DateError('Dates and times are not supported');
  if (Array.isArray(x)) return x.map(convert);
  if (x !== null && typeof x === 'object') {
    const a = new Map<string, Value>();
    for (const [k, v] of Object.entries(x)) a.set(Buffer.from(k, 'utf8').toString('latin1'), convert(v));
    return NixAttrs.fromMap(a);
  }
  return null;
}

export function fromTOML(text: string): Value {
  const doc = toml().parse(Buffer.from(text, 'latin1').toString('utf8'), { integersAsBigInt: true });
  return convert(doc);
}

export function register(r: BuiltinRegistry): void {
  r.add('fromTOML', 1, (args: Lazy[], pos) => {
    const text = forceStrNoCtx(args[0]!, pos);
    try {
      return fromTOML(text);
    } catch (e) {
      const msg = e instanceof DateError ? e.message : `[error] ${String((e as Error).message ?? e).split('\n')[0]}`;
      throw new EvalError(EvalErrorCode.E_EVAL, `while parsing a TOML string: ${msg}`, pos);
    }
  });
}


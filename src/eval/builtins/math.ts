/** Arithmetic and bit primops (Nix 2.8 `add`, `sub`, `mul`, `div`,
 *  `lessThan`, `bitAnd/Or/Xor`, `ceil`, `floor`): i64 wrap-around. */
import { add, div, mul, sub } from '../arith.js';
import { lessThan } from '../compare.js';
import { force, forceFloatOrInt, forceInt, mkInt, toBig } from '../value.js';
import type { BuiltinRegistry } from './registry.js';

/** C++ double→int64 conversion on x86-64: out of range (or NaN) gives INT64_MIN. */
function floatToInt(x: number): number | bigint {
  if (!(x >= -9223372036854775808 && x < 9223372036854775808)) return mkInt(-(1n << 63n));
  return mkInt(BigInt(x));
}

export function register(r: BuiltinRegistry): void {
  r.add('add', 2, (args, pos) => { const a = args[0], b = args[1]; return add(force(a!), force(b!), pos); });
  r.add('sub', 2, (args, pos) => { const a = args[0], b = args[1]; return sub(force(a!), force(b!), pos); });
  r.add('mul', 2, (args, pos) => { const a = args[0], b = args[1]; return mul(force(a!), force(b!), pos); });
  r.add('div', 2, (args, pos) => { const a = args[0], b = args[1]; return div(force(a!), force(b!), pos); });
  r.add('lessThan', 2, (args, pos) => { const a = args[0], b = args[1];
    const x = force(a!);
    return lessThan(x, force(b!), null); // 2.8's CompareValues errors have no position
  });
  r.add('bitAnd', 2, (args, pos) => { const a = args[0], b = args[1]; return mkInt(toBig(forceInt(a!, pos)) & toBig(forceInt(b!, pos))); });
  r.add('bitOr', 2, (args, pos) => { const a = args[0], b = args[1]; return mkInt(toBig(forceInt(a!, pos)) | toBig(forceInt(b!, pos))); });
  r.add('bitXor', 2, (args, pos) => { const a = args[0], b = args[1]; return mkInt(toBig(forceInt(a!, pos)) ^ toBig(forceInt(b!, pos))); });
  r.add('ceil', 1, (args, pos) => { const a = args[0]; return floatToInt(Math.ceil(forceFloatOrInt(a!, pos))); });
  r.add('floor', 1, (args, pos) => { const a = args[0]; return floatToInt(Math.floor(forceFloatOrInt(a!, pos))); });
}

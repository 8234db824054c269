/**
 * `hashDerivationModulo` (libstore/derivations.cc, 2.8).
 *
 * The hash that input-addressed output paths are computed from. Fixed-output
 * derivations hash to `fixed:out:<method+algo>:<hex>:<path>` so their builder
 * does not leak into dependants; everything else hashes its own ATerm with
 * each input drv replaced by that input's modulo hash (unmasked, recursive,
 * memoised by drv path) and, when `maskOutputs`, its own outputs blanked.
 * A floating-CA or impure input makes the result `deferred`.
 */
import { hashBytes, type Hash } from '../hash.js';
import { printDerivation } from './aterm-write.js';
import { derivationType, fixedOutputHash, printMethodAlgo, type Derivation } from './types.js';

export interface DrvHash {
  /** Output name → hash (the same hash for every output unless fixed). */
  hashes: Map<string, Hash>;
  kind: 'regular' | 'deferred';
}

/** Load an input derivation by its full `.drv` path. */
export type DerivationResolver = (drvPath: string) => Derivation;

/** Memo of unmasked modulo hashes by drv path; share one per store/evaluation. */
export type DrvHashMemo = Map<string, DrvHash>;

export interface HashModuloOptions {
  maskOutputs: boolean;
  resolve: DerivationResolver;
  memo?: DrvHashMemo;
}

const IMPURE_OUTPUT_HASH = (): Hash => hashBytes('sha256', 'impure');

function byteHash(s: string): Hash {
  return hashBytes('sha256', Buffer.from(s, 'latin1'));
}

export function hashDerivationModulo(drv: Derivation, opts: HashModuloOptions): DrvHash {
  const type = derivationType(drv);
  if (type === 'fixed') {
    const hashes = new Map<string, Hash>();
    for (const [name, o] of drv.outputs) {
      const f = fixedOutputHash(o)!;
      const s = `fixed:out:${printMethodAlgo(f.method, f.hash.type)}:${f.hash.base16}:${o.path}`;
      hashes.set(name, byteHash(s));
    }
    return { hashes, kind: 'regular' };
  }
  if (type === 'impure') {
    return { hashes: new Map([...drv.outputs.keys()].map((n) => [n, IMPURE_OUTPUT_HASH()])), kind: 'deferred' };
  }
  let kind: DrvHash['kind'] = type === 'floating' ? 'deferred' : 'regular';
  const memo = opts.memo ?? new Map<string, DrvHash>();
  const inputs2 = new Map<string, Set<string>>();
  for (const [drvPath, wanted] of drv.inputDrvs) {
    const res = pathDerivationModulo(drvPath, opts.resolve, memo);
    if (res.kind === 'deferred') kind = 'deferred';
    for (const out of wanted) {
      const h = res.hashes.get(out);
      if (h === undefined) throw new Error(`Assertion failed: derivation '${drvPath}' has no output '${out}'`);
      const key = h.base16;
      let set = inputs2.get(key);
      if (set === undefined) inputs2.set(key, (set = new Set()));
      set.add(out);
    }
  }
  const h = byteHash(printDerivation(drv, { maskOutputs: opts.maskOutputs, inputDrvs: inputs2 }));
  return { hashes: new Map([...drv.outputs.keys()].map((n) => [n, h])), kind };
}

/** The unmasked modulo hash of an input drv, memoised by path. */
export function pathDerivationModulo(drvPath: string, resolve: DerivationResolver, memo: DrvHashMemo): DrvHash {
  const hit = memo.get(drvPath);
  if (hit !== undefined) return hit;
  const res = hashDerivationModulo(resolve(drvPath), { maskOutputs: false, resolve, memo });
  memo.set(drvPath, res);
  return res;
}

/**
 * For callers whose derivations come from an async source (a daemon
 * connection): load every input drv not yet in `memo`, recursively, and
 * return a synchronous resolver over them for `hashDerivationModulo`.
 */
export async function preloadInputDerivations(
  drv: Derivation,
  resolveAsync: (drvPath: string) => Promise<Derivation>,
  memo?: DrvHashMemo,
): Promise<DerivationResolver> {
  const loaded = new Map<string, Derivation>();
  const todo = [...drv.inputDrvs.keys()];
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (loaded.has(p) || memo?.has(p)) continue;
    const d = await resolveAsync(p);
    loaded.set(p, d);
    todo.push(...d.inputDrvs.keys());
  }
  return (p) => {
    const d = loaded.get(p);
    if (d === undefined) throw new Error(`Assertion failed: derivation '${p}' was not preloaded`);
    return d;
  };
}

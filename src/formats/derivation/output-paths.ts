/**
 * Output and `.drv` paths (2.8 `derivationStrict` tail, `writeDerivation`,
 * `Derivation::checkInvariants`).
 *
 * Input-addressed outputs come from the masked modulo hash
 * (`output:<id>` paths); fixed outputs from `makeFixedOutputPath`; floating
 * CA and impure outputs have no path and their env var holds the output
 * placeholder. The `.drv` itself is a text object referring to its inputSrcs
 * and input drvs.
 */
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../errors.js';
import { hashBytes } from '../hash.js';
import { StorePath, hashPlaceholder, type StoreDir } from '../store-path.js';
import { derivationBytes } from './aterm-write.js';
import { hashDerivationModulo, type DerivationResolver, type DrvHashMemo } from './hash-modulo.js';
import { cloneDerivation, fixedOutputHash, outputKind, type Derivation } from './types.js';

export interface OutputPathOptions {
  storeDir: StoreDir;
  resolve: DerivationResolver;
  memo?: DrvHashMemo;
}

/** References of the `.drv` text object: inputSrcs ∪ input drv paths. */
export function derivationReferences(drv: Derivation, storeDir: StoreDir): StorePath[] {
  return [...new Set([...drv.inputSrcs, ...drv.inputDrvs.keys()])].map((p) => storeDir.parse(p));
}

/** The store path the `.drv` is written to (`writeDerivation`). */
export function computeDrvPath(drv: Derivation, storeDir: StoreDir): StorePath {
  const h = hashBytes('sha256', derivationBytes(drv));
  return storeDir.makeTextPath(`${drv.name}.drv`, h, derivationReferences(drv, storeDir));
}

/** The path of a fixed output, from its hash and method. */
export function fixedOutputPath(drv: Derivation, outputName: string, storeDir: StoreDir): StorePath {
  const f = fixedOutputHash(drv.outputs.get(outputName)!)!;
  if (f.method === 'text') {
    throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, `output '${outputName}' of '${drv.name}' uses text hashing, which is not supported`);
  }
  return storeDir.makeFixedOutputPath({ recursive: f.method === 'recursive', hash: f.hash, name: drv.name });
}

/**
 * Fill in output paths and their env vars for a derivation being created, as
 * `derivationStrict` does. Outputs must be given as fixed, floating, impure
 * or input-addressed/deferred (paths of the latter are ignored and recomputed).
 */
export function fillInOutputPaths(drv0: Derivation, opts: OutputPathOptions): Derivation {
  const drv = cloneDerivation(drv0);
  const kinds = new Set([...drv.outputs.values()].map(outputKind));
  if (kinds.has('fixed')) {
    for (const name of drv.outputs.keys()) {
      const p = opts.storeDir.print(fixedOutputPath(drv, name, opts.storeDir));
      drv.outputs.get(name)!.path = p;
      drv.env.set(name, p);
    }
    return drv;
  }
  if (kinds.has('floating') || kinds.has('impure')) {
    for (const name of drv.outputs.keys()) drv.env.set(name, hashPlaceholder(name));
    return drv;
  }
  for (const [name, o] of drv.outputs) {
    drv.env.set(name, '');
    drv.outputs.set(name, { path: '', hashAlgo: o.hashAlgo, hash: o.hash });
  }
  const res = hashDerivationModulo(drv, { maskOutputs: true, resolve: opts.resolve, memo: opts.memo });
  if (res.kind === 'deferred') return drv;
  for (const name of drv.outputs.keys()) {
    const p = opts.storeDir.print(opts.storeDir.makeOutputPath(name, res.hashes.get(name)!, drv.name));
    drv.outputs.get(name)!.path = p;
    drv.env.set(name, p);
  }
  return drv;
}

/** Expected path of each output that has one (`Derivation::checkInvariants`). */
export function expectedOutputPaths(drv: Derivation, opts: OutputPathOptions): Map<string, string> {
  const filled = fillInOutputPaths(drv, opts);
  const out = new Map<string, string>();
  for (const [name, o] of filled.outputs) if (o.path !== '') out.set(name, o.path);
  return out;
}

/** Throw when a stored output path or its env var disagrees with the recomputed one. */
export function checkDerivationOutputs(drv: Derivation, drvPath: string, opts: OutputPathOptions): void {
  for (const [name, want] of expectedOutputPaths(drv, opts)) {
    const o = drv.outputs.get(name)!;
    if (o.path !== want) {
      throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, `derivation '${drvPath}' has incorrect output '${o.path}', should be '${want}'`);
    }
    if (drv.env.get(name) !== want) {
      throw new NixError(FormatsErrorCode.E_DERIVATION_INVALID, `derivation '${drvPath}' has incorrect environment variable '${name}', should be '${want}'`);
    }
  }
}

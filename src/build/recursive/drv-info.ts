/**
 * Reads what the recursive-nix policy needs from a `.drv` in the host store:
 * system, `requiredSystemFeatures`, fixed-output-ness, input derivations and
 * known output paths (Nix `BasicDerivation` + `ParsedDerivation`).
 */
import type { StoreDir, StorePath } from '../../formats/index.js';
import { getStringsAttr, isFixedOutput, readDerivation, type BuildDrv } from '../derivation.js';
import type { InnerDrvInfo } from './policy.js';

export function drvInfoOf(storeDir: StoreDir, drv: BuildDrv): InnerDrvInfo {
  return {
    system: drv.platform,
    requiredSystemFeatures: getStringsAttr(drv, 'requiredSystemFeatures') ?? [],
    fixedOutput: isFixedOutput(drv),
    inputDrvs: [...drv.inputDrvs.keys()].map((p) => storeDir.parse(p)),
    outputPaths: [...drv.outputs.values()].map((o) => (o.path === undefined ? undefined : storeDir.parse(o.path))),
  };
}

/** A `DerivationReader` over the local store's files (`realStoreDir` for chroot stores). */
export function localDerivationReader(storeDir: StoreDir, realStoreDir = storeDir.dir): (p: StorePath) => Promise<InnerDrvInfo> {
  return async (p) => drvInfoOf(storeDir, readDerivation(storeDir, p, realStoreDir));
}

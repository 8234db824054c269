/**
 * The signature rule for paths uploaded by untrusted clients (2.8
 * LocalStore::addToStore with checkSigs, ValidPathInfo::checkSignatures):
 * with `require-sigs` (default true) a path must be content-addressed — its
 * path really follows from its `ca` — or carry a signature by one of the
 * `trusted-public-keys`. Checked by the server so the rule holds whatever
 * store it serves.
 */
import { NixError, type Settings } from '../../core/index.js';
import {
  countValidSignatures,
  makeContentAddressedPath,
  parseContentAddress,
  parsePublicKeys,
  type PublicKeys,
  type StoreDir,
} from '../../formats/index.js';
import type { ValidPathInfo } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';

/** 2.8's default `trusted-public-keys`. */
const DEFAULT_KEYS = ['cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='];

function isContentAddressed(sd: StoreDir, info: ValidPathInfo): boolean {
  if (!info.ca) return false;
  try {
    const ca = parseContentAddress(info.ca);
    // No new array unless there is a self-reference: filter's result for no
    // references had another elements kind than the list's and deoptimised here.
    const self = info.references.some((r) => r.equals(info.path));
    const refs = self ? info.references.filter((r) => !r.equals(info.path)) : info.references;
    return makeContentAddressedPath(sd, info.path.name, ca, refs, self).equals(info.path);
  } catch {
    return false;
  }
}

function trustedKeys(settings: Settings | undefined): PublicKeys {
  const list = settings?.getList('trusted-public-keys', DEFAULT_KEYS) ?? DEFAULT_KEYS;
  const keys: PublicKeys = new Map();
  for (const k of list) {
    try {
      for (const [name, key] of parsePublicKeys([k])) keys.set(name, key);
    } catch {
      // A malformed key in the configuration verifies nothing.
    }
  }
  return keys;
}

/**
 * What 2.8 does to an uploaded path's info before adding it: an untrusted
 * client's is never `ultimate` and its signatures are always checked
 * (`dontCheckSigs` counts only from a trusted one). Returns the
 * `dontCheckSigs` to pass on to the store.
 */
export function admitUpload(sd: StoreDir, info: ValidPathInfo, trusted: boolean, dontCheckSigs: boolean, settings: Settings | undefined): boolean {
  if (!trusted) info.ultimate = false;
  const skip = trusted && dontCheckSigs;
  if (!skip) checkUploadSignatures(sd, info, settings);
  return skip;
}

export function checkUploadSignatures(sd: StoreDir, info: ValidPathInfo, settings: Settings | undefined): void {
  if (settings && !settings.getBool('require-sigs', true)) return;
  if (isContentAddressed(sd, info)) return;
  if (info.narSize > 0 && countValidSignatures(sd, info, info.sigs, trustedKeys(settings)) > 0) return;
  throw new NixError(ProtocolErrorCode.E_PROTOCOL_UNTRUSTED, `cannot add path '${sd.print(info.path)}' because it lacks a valid signature`);
}

/**
 * `.narinfo` files of binary caches (libstore/nar-info.cc, 2.8).
 *
 * Printed in Nix's fixed order; parsed leniently as Nix does (unknown keys
 * ignored, any prefixed hash encoding, `Compression` defaulting to bzip2)
 * but with its corruption checks: StorePath, NarHash, a non-empty URL and
 * NarSize > 0 are required; a second References or CA line is corrupt.
 */
import { NixError } from '../core/index.js';
import { FormatsErrorCode } from './errors.js';
import { parseHash, type Hash } from './hash.js';
import { parseContentAddress, renderContentAddress, type ContentAddress } from './content-address.js';
import { StorePath, compareStorePaths, type StoreDir } from './store-path.js';

export interface NarInfo {
  path: StorePath;
  url: string;
  compression: string;
  fileHash?: Hash;
  fileSize?: number;
  narHash: Hash;
  narSize: number;
  /** Sorted by base name. */
  references: StorePath[];
  deriver?: StorePath;
  system?: string;
  /** Sorted, unique. */
  sigs: string[];
  ca?: ContentAddress;
}

export function parseNarInfo(text: string, storeDir: StoreDir, whence: string): NarInfo {
  const corrupt = (): NixError => new NixError(FormatsErrorCode.E_NARINFO_INVALID, `NAR info file '${whence}' is corrupt`);
  const hashField = (v: string): Hash => {
    try {
      return parseHash(v);
    } catch {
      throw corrupt();
    }
  };
  const int = (v: string): number => {
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) throw corrupt();
    return Number(v);
  };
  const info: Partial<NarInfo> & { references: StorePath[]; sigs: string[] } = { url: '', compression: '', narSize: 0, references: [], sigs: [] };
  let haveRefs = false;
  let pos = 0;
  while (pos < text.length) {
    const colon = text.indexOf(':', pos);
    if (colon < 0) throw corrupt();
    const name = text.slice(pos, colon);
    const eol = text.indexOf('\n', colon + 2);
    if (eol < 0) throw corrupt();
    const value = text.slice(colon + 2, eol);
    try {
      applyField(info, name, value, { storeDir, hashField, int, corrupt, haveRefs });
    } catch (e) {
      throw e instanceof NixError && e.code === FormatsErrorCode.E_NARINFO_INVALID ? e : corrupt();
    }
    if (name === 'References') haveRefs = true;
    pos = eol + 1;
  }
  if (info.compression === '') info.compression = 'bzip2';
  if (info.path === undefined || info.narHash === undefined || info.url === '' || !info.narSize) throw corrupt();
  info.references.sort(compareStorePaths);
  info.sigs = [...new Set(info.sigs)].sort();
  return info as NarInfo;
}

interface FieldCtx {
  storeDir: StoreDir;
  hashField: (v: string) => Hash;
  int: (v: string) => number;
  corrupt: () => NixError;
  haveRefs: boolean;
}

function applyField(info: Partial<NarInfo> & { references: StorePath[]; sigs: string[] }, name: string, value: string, c: FieldCtx): void {
  switch (name) {
    case 'StorePath': info.path = c.storeDir.parse(value); break;
    case 'URL': info.url = value; break;
    case 'Compression': info.compression = value; break;
    case 'FileHash': info.fileHash = c.hashField(value); break;
    case 'FileSize': info.fileSize = c.int(value); break;
    case 'NarHash': info.narHash = c.hashField(value); break;
    case 'NarSize': info.narSize = c.int(value); break;
    case 'References':
      if (c.haveRefs) throw c.corrupt();
      for (const r of value.split(' ')) if (r !== '') info.references.push(new StorePath(r));
      break;
    case 'Deriver': if (value !== 'unknown-deriver') info.deriver = new StorePath(value); break;
    case 'System': info.system = value; break;
    case 'Sig': info.sigs.push(value); break;
    case 'CA':
      if (info.ca !== undefined) throw c.corrupt();
      info.ca = parseContentAddress(value);
      break;
    default: break;
  }
}

/** `NarInfo::to_string`. */
export function printNarInfo(info: NarInfo, storeDir: StoreDir): string {
  if (info.fileHash === undefined || info.fileSize === undefined) throw new Error('Assertion failed: narinfo needs FileHash and FileSize');
  let s = `StorePath: ${storeDir.print(info.path)}\n`;
  s += `URL: ${info.url}\n`;
  s += `Compression: ${info.compression}\n`;
  s += `FileHash: ${info.fileHash.toString('base32', true)}\n`;
  s += `FileSize: ${info.fileSize}\n`;
  s += `NarHash: ${info.narHash.toString('base32', true)}\n`;
  s += `NarSize: ${info.narSize}\n`;
  s += `References: ${[...info.references].sort(compareStorePaths).map(String).join(' ')}\n`;
  if (info.deriver) s += `Deriver: ${info.deriver.baseName}\n`;
  if (info.system) s += `System: ${info.system}\n`;
  for (const sig of [...new Set(info.sigs)].sort()) s += `Sig: ${sig}\n`;
  if (info.ca) s += `CA: ${renderContentAddress(info.ca)}\n`;
  return s;
}

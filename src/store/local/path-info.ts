/**
 * Conversions between `ValidPathInfo` and database rows (local-store.cc
 * `queryPathInfoUncached`, `addValidPath`), and the `.drv` output list needed
 * for the DerivationOutputs table.
 */
import { compareUtf8 } from '../../core/index.js';
import { parseHash, type StoreDir, type StorePath } from '../../formats/index.js';
import type { ValidPathInfo } from '../store.js';
import type { PathRow, RegisterRow } from './db.js';

export function rowToInfo(storeDir: StoreDir, row: PathRow, references: string[]): ValidPathInfo {
  const info: ValidPathInfo = {
    path: storeDir.parse(row.path),
    narHash: parseHash(row.hash, 'sha256'),
    references: references.map((r) => storeDir.parse(r)).sort((a, b) => compareUtf8(a.baseName, b.baseName)),
    registrationTime: row.registrationTime,
    narSize: row.narSize ?? 0,
    ultimate: row.ultimate !== null && row.ultimate !== 0,
    sigs: row.sigs === null || row.sigs === '' ? [] : row.sigs.split(' ').filter((s) => s !== ''),
  };
  if (row.deriver !== null && row.deriver !== '') {
    try {
      info.deriver = storeDir.parse(row.deriver);
    } catch {
      /* Nix ignores a deriver it cannot parse */
    }
  }
  if (row.ca !== null && row.ca !== '') info.ca = row.ca;
  return info;
}

export function infoToRow(storeDir: StoreDir, info: ValidPathInfo, drvOutputs?: [string, string][]): RegisterRow {
  const sigs = info.sigs.length === 0 ? info.sigs : [...info.sigs].sort(compareUtf8);
  return {
    path: storeDir.print(info.path),
    hash: `sha256:${info.narHash.base16}`,
    registrationTime: info.registrationTime > 0 ? info.registrationTime : Math.floor(Date.now() / 1000),
    deriver: info.deriver !== undefined ? storeDir.print(info.deriver) : null,
    narSize: info.narSize > 0 ? info.narSize : null,
    ultimate: info.ultimate,
    sigs: sigs.length > 0 ? sigs.join(' ') : null,
    ca: info.ca ?? null,
    references: info.references.length === 0 ? [] : info.references.map((r) => storeDir.print(r)),
    drvOutputs,
  };
}

/**
 * The outputs of a `.drv` (ATerm `Derive([("out","/path","algo","hash"),…],…`).
 * Output names and paths are never escaped in ATerm, so the first list can be
 * read without a full parser. Outputs without a path (floating CA) are skipped.
 */
export function drvOutputPaths(text: string): [string, string][] {
  const m = /^Derive\(\[/.exec(text);
  if (m === null) return [];
  const out: [string, string][] = [];
  const re = /\("([^"]*)","([^"]*)","([^"]*)","([^"]*)"\)(,|\])/y;
  re.lastIndex = m[0].length;
  for (;;) {
    const r = re.exec(text);
    if (r === null) break;
    if (r[2] !== '') out.push([r[1]!, r[2]!]);
    if (r[5] === ']') break;
  }
  return out;
}

export function sortPaths(ps: StorePath[]): StorePath[] {
  return ps.sort((a, b) => compareUtf8(a.baseName, b.baseName));
}

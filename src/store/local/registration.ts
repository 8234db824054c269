/**
 * The validity registration text (store-api.cc `makeValidityRegistration`,
 * `decodeValidPathInfo`), used by `--dump-db`, `--load-db` and
 * `--register-validity`: per path, lines of path, [narHash base16, narSize,]
 * deriver (empty when none), reference count, references.
 */
import { NixError } from '../../core/index.js';
import { parseHash, type Hash, type StoreDir, type StorePath } from '../../formats/index.js';
import { StoreErrorCode } from '../errors.js';
import type { ValidPathInfo } from '../store.js';

export function makeValidityRegistration(storeDir: StoreDir, infos: readonly ValidPathInfo[], showHash: boolean): string {
  let s = '';
  for (const i of infos) {
    s += storeDir.print(i.path) + '\n';
    if (showHash) s += `${i.narHash.base16}\n${i.narSize}\n`;
    s += (i.deriver ? storeDir.print(i.deriver) : '') + '\n';
    s += `${i.references.length}\n`;
    for (const r of i.references) s += storeDir.print(r) + '\n';
  }
  return s;
}

export interface DecodedInfo {
  path: StorePath;
  narHash?: Hash;
  narSize?: number;
  deriver?: StorePath;
  references: StorePath[];
}

function bad(msg: string): NixError {
  return new NixError(StoreErrorCode.E_DB, msg);
}

/** Parse every group of `text`; `hashGiven` says whether hash and size lines are present. */
export function decodeValidPathInfos(storeDir: StoreDir, text: string, hashGiven: boolean): DecodedInfo[] {
  const lines = text.split('\n');
  let i = 0;
  const next = (): string => {
    if (i >= lines.length) throw bad('unexpected end of input while reading path registrations');
    return lines[i++]!;
  };
  const out: DecodedInfo[] = [];
  for (;;) {
    if (i >= lines.length || lines[i] === '') break;
    const path = storeDir.parse(next());
    const d: DecodedInfo = { path, references: [] };
    if (hashGiven) {
      d.narHash = parseHash(next(), 'sha256');
      const n = next();
      if (!/^\d+$/.test(n)) throw bad('number expected');
      d.narSize = Number(n);
    }
    const deriver = next();
    if (deriver !== '') d.deriver = storeDir.parse(deriver);
    const cnt = next();
    if (!/^\d+$/.test(cnt)) throw bad('number expected');
    for (let k = 0; k < Number(cnt); k++) d.references.push(storeDir.parse(next()));
    out.push(d);
  }
  return out;
}

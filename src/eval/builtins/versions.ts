/**
 * Version primops (Nix 2.8 `names.cc`): parseDrvName, compareVersions,
 * splitVersion. Components split at `.`/`-` and at digit/non-digit
 * boundaries; numbers compare numerically, "pre" sorts before everything,
 * the empty string before anything but numbers... as 2.8 `componentsLT`.
 */
import { forceStr, NixAttrs, type Lazy } from '../value.js';
import type { BuiltinRegistry } from './registry.js';

export function splitVersion(v: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < v.length) {
    const c = v[i]!;
    if (c === '.' || c === '-') { i++; continue; }
    const digit = c >= '0' && c <= '9';
    let j = i;
    while (j < v.length) {
      const d = v[j]!;
      if (d === '.' || d === '-') break;
      if ((d >= '0' && d <= '9') !== digit) break;
      j++;
    }
    out.push(v.slice(i, j));
    i = j;
  }
  return out;
}

const isNum = (s: string) => s.length > 0 && /^[0-9]+$/.test(s);

function componentsLT(c1: string, c2: string): boolean {
  const n1 = isNum(c1), n2 = isNum(c2);
  if (n1 && n2) {
    const a = BigInt(c1), b = BigInt(c2);
    return a < b;
  }
  if (c1 === '' && n2) return true;
  if (c1 === 'pre' && c2 !== 'pre') return true;
  if (c2 === 'pre') return false;
  if (n1) return false;
  if (n2) return true;
  return c1 < c2;
}

export function compareVersions(v1: string, v2: string): number {
  const a = splitVersion(v1), b = splitVersion(v2);
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c1 = a[i] ?? '', c2 = b[i] ?? '';
    if (componentsLT(c1, c2)) return -1;
    if (componentsLT(c2, c1)) return 1;
  }
  return 0;
}

/** 2.8 `DrvName`: the version starts at the first `-` followed by a non-letter. */
export function parseDrvName(s: string): { name: string; version: string } {
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] === '-' && !/[a-zA-Z]/.test(s[i + 1]!)) return { name: s.slice(0, i), version: s.slice(i + 1) };
  }
  return { name: s, version: '' };
}

export function register(r: BuiltinRegistry): void {
  r.add('splitVersion', 1, (args, pos) => { const v = args[0]; return splitVersion(forceStr(v!, pos)); });
  r.add('compareVersions', 2, (args, pos) => { const a = args[0], b = args[1]; return compareVersions(forceStr(a!, pos), forceStr(b!, pos)); });
  r.add('parseDrvName', 1, (args, pos) => { const v = args[0];
    const d = parseDrvName(forceStr(v!, pos));
    return NixAttrs.fromEntries([['name', d.name], ['version', d.version]]);
  });
}

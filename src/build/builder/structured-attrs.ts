/**
 * `__structuredAttrs` files (Nix 2.8 `writeStructuredAttrs`,
 * `writeStructuredAttrsShell`): `.attrs.json` is the drv's `__json` with
 * `outputs` turned into an object name → path; `.attrs.sh` declares every
 * attribute whose name is a shell identifier and whose value is "simple"
 * (string, integral number, null, bool) or a list/object of simple values.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** nlohmann::json `dump()`: compact, object keys sorted byte-wise. */
export function dumpJson(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(dumpJson).join(',')}]`;
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${dumpJson(v[k]!)}`).join(',')}}`;
}

/** Nix `shellEscape`: single quotes, with `'` as `'\''`. */
export function shellEscape(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

function simple(v: Json): string | undefined {
  if (typeof v === 'string') return shellEscape(v);
  if (typeof v === 'number') {
    // Nix reads the number as a C float and prints it as int when integral.
    const f = Math.fround(v);
    if (Math.ceil(f) === f) return String(Math.trunc(v));
    return undefined;
  }
  if (v === null) return "''";
  if (typeof v === 'boolean') return v ? '1' : '';
  return undefined;
}

const SH_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function structuredAttrsShell(json: { [k: string]: Json }): string {
  let out = '';
  const keys = Object.keys(json).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const key of keys) {
    if (!SH_VAR.test(key)) continue;
    const value = json[key]!;
    const s = simple(value);
    if (s !== undefined) {
      out += `declare ${key}=${s}\n`;
    } else if (Array.isArray(value)) {
      const items = value.map(simple);
      if (items.some((i) => i === undefined)) continue;
      out += `declare -a ${key}=(${items.map((i) => `${i} `).join('')})\n`;
    } else if (value !== null && typeof value === 'object') {
      const ks = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const items = ks.map((k) => [k, simple(value[k]!)] as const);
      if (items.some(([, i]) => i === undefined)) continue;
      out += `declare -A ${key}=(${items.map(([k, i]) => `[${shellEscape(k)}]=${i} `).join('')})\n`;
    }
  }
  return out;
}

/**
 * The JSON form of derivations printed by 2.8's `nix show-derivation`
 * (src/nix/show-derivation.cc over libutil/json.cc `JSONObject`).
 *
 * Layout is 2.8's own writer, not a generic JSON library: keys in the fixed
 * order outputs, inputSrcs, inputDrvs, system, builder, args, env; 2-space
 * indentation; `[]`/`{}` when empty. Escaping escapes `" \ \n \r \t`, writes
 * other control bytes as `\u00XX`, and passes every other byte raw (so
 * non-UTF-8 bytes stay bytes). Output is a byte string (latin1).
 */
import { outputKind, sortedKeys, compareByteStrings, type Derivation } from './types.js';

export function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 32) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

type J = string | J[] | { obj: [string, J][] } | { raw: string };

function obj(entries: [string, J][]): J {
  return { obj: entries };
}

function render(v: J, indent: string): string {
  if (typeof v === 'string') return jsonString(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + render(x as J, inner)).join(',\n')}\n${indent}]`;
  }
  if ('raw' in v) return v.raw;
  if (v.obj.length === 0) return '{}';
  return `{\n${v.obj.map(([k, x]) => `${inner}${jsonString(k)}: ${render(x, inner)}`).join(',\n')}\n${indent}}`;
}

function outputsJson(drv: Derivation): J {
  return obj(
    sortedKeys(drv.outputs).map((name) => {
      const o = drv.outputs.get(name)!;
      const fields: [string, J][] = [];
      if (o.path !== '') fields.push(['path', o.path]);
      const kind = outputKind(o);
      if (kind === 'fixed' || kind === 'floating' || kind === 'impure') fields.push(['hashAlgo', o.hashAlgo]);
      if (kind === 'fixed') fields.push(['hash', o.hash]);
      if (kind === 'impure') fields.push(['impure', { raw: 'true' }]);
      return [name, obj(fields)];
    }),
  );
}

/** One derivation's JSON value (without the surrounding path key). */
export function derivationJsonValue(drv: Derivation): J {
  return obj([
    ['outputs', outputsJson(drv)],
    ['inputSrcs', [...drv.inputSrcs].sort(compareByteStrings)],
    ['inputDrvs', obj(sortedKeys(drv.inputDrvs).map((p) => [p, [...drv.inputDrvs.get(p)!].sort(compareByteStrings)]))],
    ['system', drv.platform],
    ['builder', drv.builder],
    ['args', drv.args],
    ['env', obj(sortedKeys(drv.env).map((k) => [k, drv.env.get(k)!]))],
  ]);
}

/** `nix show-derivation` output for these drvs (keyed by full drv path), with the final newline. */
export function showDerivationJson(drvs: Map<string, Derivation>): string {
  return render(obj(sortedKeys(drvs).map((p) => [p, derivationJsonValue(drvs.get(p)!)])), '') + '\n';
}

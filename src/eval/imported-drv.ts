/**
 * `import` of a valid `.drv` store path (2.8 `prim_import` +
 * imported-drv-to-derivation.nix): the derivation is read back and turned
 * into a derivation-like set — `drvPath`, `name`, `outputs`, one set per
 * output with `outPath`/`outputName`, `all`, `type = "derivation"`.
 */
import type * as A from './ast.js';
import { derivationNameFromPath, parseDerivation } from '../formats/index.js';
import type { EvalState } from './state.js';
import { NixAttrs, NixString, type Lazy, type Value } from './value.js';

const WRAPPER_NIX = `attrs @ { drvPath, outputs, name, ... }:
let
  commonAttrs = (builtins.listToAttrs outputsList)
    // { all = map (x: x.value) outputsList; inherit drvPath name; type = "derivation"; };
  outputToAttrListElement = outputName: {
    name = outputName;
    value = commonAttrs // { outPath = builtins.getAttr outputName attrs; inherit outputName; };
  };
  outputsList = map outputToAttrListElement outputs;
in (builtins.head outputsList).value
`;

export function isDerivationPath(state: EvalState, path: string): boolean {
  const dir = state.storeDir + '/';
  if (!path.startsWith(dir) || !path.endsWith('.drv')) return false;
  const base = path.slice(dir.length);
  return !base.includes('/') && base.length > 33 && state.io.isValidPath(path);
}

export function importDerivation(state: EvalState, drvPath: string): Value {
  const bytes = state.io.readFile(drvPath);
  const drv = parseDerivation(bytes, derivationNameFromPath(drvPath));
  const m = new Map<string, Lazy>();
  m.set('drvPath', new NixString(drvPath, new Set(['=' + drvPath])));
  m.set('name', drv.env.get('name') ?? '');
  const outs: Lazy[] = [];
  for (const [name, o] of drv.outputs) {
    outs.push(name);
    m.set(name, new NixString(o.path, new Set([`!${name}!${drvPath}`])));
  }
  m.set('outputs', outs);
  const source: A.Source = { origin: 'file', path: '/', text: WRAPPER_NIX };
  const wrapper = state.evalExpr(state.parseSource(source, '/'));
  return state.callFunction(wrapper, NixAttrs.fromMap(m));
}

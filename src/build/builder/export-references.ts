/**
 * `exportReferencesGraph` (Nix 2.8 `startBuilder`, `Store::exportReferences`,
 * `ParsedDerivation::prepareStructuredAttrs`): the closure of each named path
 * (plus the closures of the outputs of any `.drv` in it) is handed to the
 * builder. Classic derivations get `<build dir>/<name>` in
 * `--register-validity` format with empty deriver lines; structured ones get
 * `<name>` in `.attrs.json` as `pathInfoToJSON` (no impure info, with
 * `closureSize`). Every named path must be in the input closure.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NixError, compareUtf8 } from '../../core/index.js';
import type { StorePath } from '../../formats/index.js';
import type { Store } from '../../store/index.js';
import type { Json } from './structured-attrs.js';
import { BuildErrorCode } from '../errors.js';
import { readDerivation } from '../derivation.js';

const FILE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export async function writeExportedReferences(store: Store, value: string | undefined, inputClosure: ReadonlySet<string>, buildDir: string): Promise<void> {
  if (value === undefined) return;
  const ss = value.split(/[ \t\n\r]+/).filter((w) => w !== '');
  if (ss.length % 2 !== 0) throw new NixError(BuildErrorCode.E_INPUT_REJECTED, `odd number of tokens in 'exportReferencesGraph': '${value}'`);
  const sd = store.storeDir;
  for (let i = 0; i < ss.length; i += 2) {
    const fileName = ss[i]!;
    const pathS = ss[i + 1]!;
    if (!FILE_NAME.test(fileName)) throw new NixError(BuildErrorCode.E_INPUT_REJECTED, `invalid file name '${fileName}' in 'exportReferencesGraph'`);
    if (!sd.isInStore(pathS)) throw new NixError(BuildErrorCode.E_INPUT_REJECTED, `'exportReferencesGraph' contains a non-store path '${pathS}'`);
    const [sp] = sd.toStorePath(pathS);
    const paths = await exportReferences(store, [sp], inputClosure);
    let text = '';
    for (const p of paths) {
      const info = await store.queryPathInfo(sd.parse(p));
      const refs = info?.references ?? [];
      text += `${p}\n\n${refs.length}\n${refs.map((r) => sd.print(r) + '\n').join('')}`;
    }
    writeFileSync(join(buildDir, fileName), text);
  }
}

/** `Store::exportReferences`: sorted full paths. */
async function exportReferences(store: Store, roots: StorePath[], inputClosure: ReadonlySet<string>): Promise<string[]> {
  const sd = store.storeDir;
  const paths = new Set<string>();
  for (const sp of roots) {
    const full = sd.print(sp);
    if (!inputClosure.has(full)) {
      throw new NixError(BuildErrorCode.E_INPUT_REJECTED, `cannot export references of path '${full}' because it is not in the input closure of the derivation`);
    }
    for (const q of await closureOf(store, [sp])) paths.add(q);
  }
  for (const p of [...paths]) {
    if (!p.endsWith('.drv')) continue;
    const drv = readDerivation(sd, sd.parse(p));
    for (const o of drv.outputs.values()) if (o.path !== undefined) for (const q of await closureOf(store, [sd.parse(o.path)])) paths.add(q);
  }
  return [...paths].sort(compareUtf8);
}

/**
 * The structured-attrs form: `json.exportReferencesGraph` is an object of
 * name → path or list of paths; returns name → `pathInfoToJSON` list, to be
 * merged into `.attrs.json`. Non-object values are ignored, as in Nix.
 */
export async function structuredExportedReferences(store: Store, json: { [k: string]: Json }, inputClosure: ReadonlySet<string>): Promise<{ [k: string]: Json }> {
  const e = json.exportReferencesGraph;
  const out: { [k: string]: Json } = {};
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return out;
  const sd = store.storeDir;
  for (const [name, v] of Object.entries(e)) {
    const roots = (Array.isArray(v) ? v : [v]).map((p) => {
      if (typeof p !== 'string') throw new NixError(BuildErrorCode.E_INPUT_REJECTED, `[json.exception.type_error.302] type must be string, but is ${jsonTypeName(p)}`);
      return sd.parse(p);
    });
    const infos: Json[] = [];
    for (const p of await exportReferences(store, roots, inputClosure)) infos.push(await pathInfoJson(store, sd.parse(p)));
    out[name] = infos;
  }
  return out;
}

function jsonTypeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** `Store::pathInfoToJSON(…, includeImpureInfo = false, showClosureSize = true)` for one path. */
async function pathInfoJson(store: Store, p: StorePath): Promise<Json> {
  const sd = store.storeDir;
  const info = await store.queryPathInfo(p);
  if (info === undefined) throw new NixError(BuildErrorCode.E_MISC, `path '${sd.print(p)}' is not valid`);
  let closureSize = 0;
  for (const q of await closureOf(store, [p])) closureSize += (await store.queryPathInfo(sd.parse(q)))?.narSize ?? 0;
  const o: { [k: string]: Json } = {
    path: sd.print(p),
    narHash: info.narHash.toString('base32', true),
    narSize: info.narSize,
    references: info.references.map((r) => sd.print(r)).sort(compareUtf8),
    closureSize,
  };
  if (info.ca) o.ca = info.ca;
  return o;
}

async function closureOf(store: Store, roots: Parameters<Store['computeFSClosure']>[0]): Promise<string[]> {
  const sd = store.storeDir;
  return [...(await store.computeFSClosure(roots))].map((p) => (p.startsWith('/') ? p : sd.dir + '/' + p));
}

/**
 * `exportReferencesGraph` for non-structured derivations (Nix 2.8
 * `startBuilder`, `Store::exportReferences`): for each `name path` pair, the
 * closure of `path` (plus the outputs of any `.drv` in it) is written to
 * `<build dir>/<name>` in `--register-validity` format with empty deriver
 * lines. `path` must be in the input closure.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NixError, compareUtf8 } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { BuildErrorCode } from '../errors.js';
import { readDerivation } from '../derivation.js';

const FILE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export async function writeExportedReferences(store: Store, value: string | undefined, inputClosure: ReadonlySet<string>, buildDir: string): Promise<void> {
  if (value === undefined) return;
  const ss = value.split(/[ \t\n\r]+/).filter((w) => w !== '');
  if (ss.length % 2 !== 0) throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `odd number of tokens in 'exportReferencesGraph': '${value}'`);
  const sd = store.storeDir;
  for (let i = 0; i < ss.length; i += 2) {
    const fileName = ss[i]!;
    const pathS = ss[i + 1]!;
    if (!FILE_NAME.test(fileName)) throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `invalid file name '${fileName}' in 'exportReferencesGraph'`);
    if (!sd.isInStore(pathS)) throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `'exportReferencesGraph' contains a non-store path '${pathS}'`);
    const [sp] = sd.toStorePath(pathS);
    const full = sd.print(sp);
    if (!inputClosure.has(full)) {
      throw new NixError(BuildErrorCode.E_BAD_DERIVATION, `cannot export references of path '${full}' because it is not in the input closure of the derivation`);
    }
    const paths = new Set<string>(await closureOf(store, [sp]));
    for (const p of [...paths]) {
      if (!p.endsWith('.drv')) continue;
      const drv = readDerivation(sd, sd.parse(p));
      for (const o of drv.outputs.values()) if (o.path !== undefined) for (const q of await closureOf(store, [sd.parse(o.path)])) paths.add(q);
    }
    let text = '';
    for (const p of [...paths].sort(compareUtf8)) {
      const info = await store.queryPathInfo(sd.parse(p));
      const refs = info?.references ?? [];
      text += `${p}\n\n${refs.length}\n${refs.map((r) => sd.print(r) + '\n').join('')}`;
    }
    writeFileSync(join(buildDir, fileName), text);
  }
}

async function closureOf(store: Store, roots: Parameters<Store['computeFSClosure']>[0]): Promise<string[]> {
  const sd = store.storeDir;
  return [...(await store.computeFSClosure(roots))].map((p) => (p.startsWith('/') ? p : sd.dir + '/' + p));
}

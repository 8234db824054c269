/**
 * `queryMissing` (Nix 2.8 `Store::queryMissing`) without substituters: which
 * derivations must be built for the given paths (recursively through the
 * inputs of every drv whose wanted outputs are not all valid), and which
 * opaque paths nobody can produce (`unknown`).
 */
import { compareUtf8 } from '../core/index.js';
import type { StorePath } from '../formats/index.js';
import type { DerivedPath, MissingInfo, Store } from '../store/index.js';
import { readDerivation, type BuildDrv } from './derivation.js';

export async function queryMissing(store: Store, targets: DerivedPath[], loadDrv?: (p: StorePath) => BuildDrv): Promise<MissingInfo> {
  const sd = store.storeDir;
  const load = loadDrv ?? ((p: StorePath) => readDerivation(sd, p));
  const willBuild = new Map<string, StorePath>();
  const unknown = new Map<string, StorePath>();
  const done = new Set<string>();
  const visit = async (t: DerivedPath): Promise<void> => {
    if (t.kind === 'opaque') {
      if (done.has(t.path.baseName)) return;
      done.add(t.path.baseName);
      if (!(await store.isValidPath(t.path))) unknown.set(t.path.baseName, t.path);
      return;
    }
    const key = `${t.drvPath.baseName}!${t.outputs === 'all' ? '*' : [...t.outputs].sort().join(',')}`;
    if (done.has(key) || willBuild.has(t.drvPath.baseName)) return;
    done.add(key);
    if (!(await store.isValidPath(t.drvPath))) {
      unknown.set(t.drvPath.baseName, t.drvPath);
      return;
    }
    const drv = load(t.drvPath);
    const names = t.outputs === 'all' ? [...drv.outputs.keys()] : t.outputs;
    let allValid = true;
    for (const n of names) {
      const p = drv.outputs.get(n)?.path;
      if (p === undefined || !(await store.isValidPath(sd.parse(p)))) {
        allValid = false;
        break;
      }
    }
    if (allValid) return;
    willBuild.set(t.drvPath.baseName, t.drvPath);
    for (const [p, outs] of drv.inputDrvs) await visit({ kind: 'built', drvPath: sd.parse(p), outputs: outs });
    for (const s of drv.inputSrcs) await visit({ kind: 'opaque', path: sd.parse(s) });
  };
  for (const t of targets) await visit(t);
  const sorted = (m: Map<string, StorePath>): StorePath[] => [...m.values()].sort((a, b) => compareUtf8(a.baseName, b.baseName));
  return { willBuild: sorted(willBuild), willSubstitute: [], unknown: sorted(unknown), downloadSize: 0, narSize: 0 };
}

/**
 * Adding a file-system path through any store: `LocalStore.addPathToStore`
 * when available, else the NAR (recursive) or the file contents (flat)
 * streamed to `addToStore` (daemon / `unix://` stores).
 */
import { readFileSync } from 'node:fs';
import { NixError, CoreErrorCode } from '../../core/index.js';
import type { HashType } from '../../formats/index.js';
import { dumpPath, type Store, type ValidPathInfo } from '../../store/index.js';

export async function addPath(
  store: Store,
  o: { name: string; fsPath: string; method: 'flat' | 'recursive'; hashAlgo: HashType; preserveExecutable?: boolean },
): Promise<ValidPathInfo> {
  if (store.addPathToStore) return store.addPathToStore(o);
  let source: AsyncIterable<Uint8Array>;
  if (o.method === 'recursive') source = dumpPath(o.fsPath);
  else {
    let data: Uint8Array;
    try {
      data = readFileSync(o.fsPath);
    } catch {
      throw new NixError(CoreErrorCode.E_IO, `getting status of '${o.fsPath}': No such file or directory`);
    }
    source = (async function* () {
      yield data;
    })();
  }
  return store.addToStore({ name: o.name, method: o.method, hashAlgo: o.hashAlgo, source });
}

/** Shared set-up for the LocalStore unit tests: a store in a temporary dir of its own. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../../core/index.js';
import { LocalStore } from './local-store.js';

export interface TempStore {
  store: LocalStore;
  dir: string;
  /** Close the store and remove the dir (made writable first: it holds read-only store paths). */
  done: () => Promise<void>;
}

/** A LocalStore under `at`, or under a new temporary dir named after `prefix`. */
export function tempStore(prefix: string, at?: string): TempStore {
  const dir = at ?? mkdtempSync(join(tmpdir(), prefix));
  const store = LocalStore.open({ storeDir: join(dir, 'store'), stateDir: join(dir, 'var'), settings: new Settings() });
  return {
    store,
    dir,
    done: async () => {
      await store.close();
      spawnSync('chmod', ['-R', 'u+w', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

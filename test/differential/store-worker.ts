/**
 * A child process for the store concurrency/crash tests: uses `LocalStore`
 * directly (the store dirs come from the environment).
 *
 *   add-and-root <rootsDir> <file>…   add each file, make a permanent root for it,
 *                                     print "<path>\n" per file
 *   gc-loop <n>                       run n full collections
 */
import { basename, join } from 'node:path';
import { LocalStore, addPermRoot } from '../../src/store/index.js';
import { Settings } from '../../src/core/index.js';

const env = process.env;
const store = LocalStore.open({
  storeDir: env.NIX_STORE_DIR!,
  stateDir: env.NIX_STATE_DIR!,
  settings: new Settings(),
});

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'add-and-root') {
    const [rootsDir, ...files] = args;
    for (const f of files) {
      const info = await store.addPathToStore({ name: basename(f), fsPath: f, method: 'recursive', hashAlgo: 'sha256' });
      await addPermRoot(store, info.path, join(rootsDir!, `${process.pid}-${basename(f)}`));
      process.stdout.write(store.print(info.path) + '\n');
    }
  } else if (mode === 'gc-loop') {
    for (let i = 0; i < Number(args[0]); i++) await store.collectGarbage({ action: 'deleteDead' });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  await store.close();
}

main().catch((e) => {
  process.stderr.write(`worker error: ${(e as Error).stack}\n`);
  process.exitCode = 1;
});

/**
 * A child process for the store concurrency/crash tests: uses `LocalStore`
 * directly (the store dirs come from the environment).
 *
 *   add-and-root <rootsDir> <file>…   add each file, make a permanent root for it,
 *                                     print "<path>\n" per file
 *   gc-loop <n>                       run n full collections
 *   hold <file>                       add <file> as a text `.drv` (addTextToStore), as a
 *                                     flat fixed output (addToStore) and as a NAR
 *                                     (addToStoreNar, named `nar-<file>`); print the three
 *                                     paths, then stay alive until stdin closes
 *   slow-add <file>                   addToStore (flat) of <file>, fed half, then "half\n"
 *                                     is printed and the rest waits for stdin to close;
 *                                     prints the path when done
 *   add-texts <n> <order> <seed> [salt]  addTextsToStore of texts 0..n-1 (every 10th refers
 *                                     to the one before; `salt` in every text) in order forward,
 *                                     reverse or shuffled (by seed); checks each returned path
 *                                     is valid with its contents, prints "ok <n>"
 */
import { basename, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { LocalStore, addPermRoot, type TextToAdd, type ValidPathInfo } from '../../src/store/index.js';
import { Settings } from '../../src/core/index.js';
import { hashBytes, regularFromBytes, serialiseNar, type StorePath } from '../../src/formats/index.js';
import { mulberry32 } from '../harness/index.js';

/** Resolves when our stdin reaches EOF (the test closes it, or dies). */
function stdinClosed(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('data', () => undefined);
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
  });
}

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
  } else if (mode === 'hold') {
    const data = readFileSync(args[0]!);
    const name = basename(args[0]!);
    const drv = await store.addTextToStore(`${name}.drv`, data, []);
    const flat = await store.addToStore({ name, method: 'flat', hashAlgo: 'sha256', source: (async function* () { yield data; })() });
    const nar = serialiseNar(regularFromBytes(data, false));
    const narPath = store.storeDir.makeFixedOutputPath({ recursive: true, hash: hashBytes('sha256', nar), name: `nar-${name}` });
    const info: ValidPathInfo = {
      path: narPath, narHash: hashBytes('sha256', nar), narSize: nar.length, references: [], registrationTime: 0,
      ultimate: false, sigs: [], ca: `fixed:r:sha256:${hashBytes('sha256', nar).base32}`,
    };
    await store.addToStoreNar(info, (async function* () { yield nar; })());
    process.stdout.write([store.print(drv), store.print(flat.path), store.print(narPath)].join('\n') + '\n');
    await stdinClosed();
  } else if (mode === 'slow-add') {
    const data = readFileSync(args[0]!);
    const half = data.length >> 1;
    const source = (async function* () {
      yield data.subarray(0, half);
      process.stdout.write('half\n');
      await stdinClosed();
      yield data.subarray(half);
    })();
    const info = await store.addToStore({ name: basename(args[0]!), method: 'flat', hashAlgo: 'sha256', source });
    process.stdout.write(store.print(info.path) + '\n');
  } else if (mode === 'add-texts') {
    await addTexts(Number(args[0]), args[1]!, Number(args[2]), args[3] ?? '');
  } else if (mode === 'gc-loop') {
    for (let i = 0; i < Number(args[0]); i++) await store.collectGarbage({ action: 'deleteDead' });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  await store.close();
}

/** Text i of `add-texts` (the same in every process, so their sets overlap). */
function textItem(i: number, prev: StorePath | undefined, salt: string): TextToAdd {
  return { name: `text${i}`, text: Buffer.from(`shared text ${i} ${salt}\n`), references: i % 10 === 9 && prev !== undefined ? [prev] : [] };
}

async function addTexts(n: number, order: string, seed: number, salt: string): Promise<void> {
  const all: TextToAdd[] = [];
  let prev: StorePath | undefined;
  for (let i = 0; i < n; i++) {
    const it = textItem(i, prev, salt);
    all.push(it);
    prev = store.storeDir.makeTextPath(it.name, hashBytes('sha256', it.text), it.references);
  }
  // References point backwards: a reordered batch keeps each referrer after its reference.
  const idx = all.map((_, i) => i);
  if (order === 'reverse') idx.reverse();
  else if (order === 'shuffled') {
    const r = mulberry32(seed);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
  }
  // Referrers after their references (a stable sort by "has a reference").
  const items = [...idx.filter((i) => all[i]!.references.length === 0), ...idx.filter((i) => all[i]!.references.length > 0)].map((i) => all[i]!);
  const paths = await store.addTextsToStore(items);
  for (let k = 0; k < items.length; k++) {
    const p = store.print(paths[k]!);
    if (!(await store.isValidPath(paths[k]!))) throw new Error(`${p} is not valid after the batch`);
    if (readFileSync(p, 'utf8') !== Buffer.from(items[k]!.text).toString()) throw new Error(`${p} has the wrong contents`);
  }
  process.stdout.write(`ok ${paths.length}\n`);
}

main().catch((e) => {
  process.stderr.write(`worker error: ${(e as Error).stack}\n`);
  process.exitCode = 1;
});

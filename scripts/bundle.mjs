// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle/ so a command
// loads a few files instead of ~100 ES modules: main.js plus one chunk per
// command (code splitting follows the literal import()s of cli/dispatch.ts,
// glue/open-store.ts, …), and the eval worker as its own entry.
//
// `import.meta.url` in a bundled module is rewritten to the URL of that
// module's dist/src file, so `new URL('./x', import.meta.url)` (worker files,
// createRequire of native addons, dispatch's fallback for modules not in its
// table) still resolves as in the unbundled tree. Two computed imports are made
// literal so their targets share the bundle's module instances.
//
// bin/tix uses the bundle unless TIX_BUNDLE=0 or tsc ran after it; launch.js
// is the warm-process pool (src/cli/launch) bin/tix talks to. (An early
// run showed sandboxed builds ending with status 0 and no output; that was the
// builder-log race fixed in 7c4562e, which shorter start-up made likelier.)
//
// Optional: without esbuild (offline install), or when the bundle cannot be
// built (e.g. a LITERAL_IMPORTS pattern changed), it removes the entries and
// bin/tix runs dist/src directly.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'dist', 'src');
const outDir = join(root, 'dist', 'bundle');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('bundle: esbuild not installed; bin/tix will use dist/src');
  await rm(outDir, { recursive: true, force: true });
  process.exit(0);
}

/** Source edits that keep a dynamic target inside the bundle: [file, from, to]. */
const LITERAL_IMPORTS = [
  // The eval worker is bundled as dist/bundle/eval-worker.js, next to the chunk.
  ['glue/instantiate.js', "new URL('./eval-worker.js', import.meta.url)", "new URL('./eval-worker.js', import.meta.url)"],
  ['build/hooks.js', 'await import(spec)', "await import('./sandbox/index.js')"],
];

const KEEP = '\u0000TIX_KEEP_META_URL\u0000';

const rewriteMetaUrl = {
  name: 'tix-meta-url',
  setup(build) {
    build.onLoad({ filter: /\/dist\/src\/.*\.js$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      const rel = relative(srcDir, args.path);
      for (const [file, from, to] of LITERAL_IMPORTS) {
        if (rel !== file) continue;
        if (!text.includes(from)) throw new Error(`bundle: '${from}' not found in ${file}; update scripts/bundle.mjs`);
        text = text.split(from).join(to.replaceAll('import.meta.url', KEEP));
      }
      if (text.includes('import.meta.url')) {
        const own = JSON.stringify(relative(outDir, args.path));
        text = text.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`);
      }
      text = text.replaceAll(KEEP, 'import.meta.url');
      return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** Without a bundle bin/tix runs dist/src: slower start-up, same behaviour. */
async function giveUp(why) {
  console.error(`bundle: ${why}; not bundling (bin/tix will use dist/src)`);
  for (const f of ['main.js', 'eval-worker.js', 'launch.js']) await rm(join(outDir, f), { force: true });
  process.exit(0);
}

let result;
try {
  result = await esbuild.build({
    entryPoints: {
      main: join(srcDir, 'cli/main.js'),
      'eval-worker': join(srcDir, 'glue/eval-worker.js'),
      // The warm-process pool's manager and children (src/cli/launch; bin/tix is their client).
      launch: join(srcDir, 'cli/launch/entry.js'),
    },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 'koffi', 'smol-toml'],
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    // Error texts and showType use function and class names; renaming on collision would change them.
    keepNames: true,
    logLevel: 'warning',
    plugins: [rewriteMetaUrl],
    write: false,
  });
} catch (e) {
  await giveUp(e instanceof Error ? e.message : String(e));
}

// Chunks have content-hashed names and are written first; entries last, each
// by rename. A process started from an older bundle (a daemon loading a
// command's chunk later) still finds its chunks, and no process sees a
// half-written entry. Old chunks are left behind; `rm -rf dist` clears them.
await mkdir(outDir, { recursive: true });
// main.js goes last: its identity (stat) is the pool's build id, so launch.js must be in place before it.
const ENTRY_ORDER = ['eval-worker.js', 'launch.js', 'main.js'];
const entries = new Set(ENTRY_ORDER.flatMap((f) => [f, `${f}.map`]).map((f) => join(outDir, f)));
for (const f of result.outputFiles) if (!entries.has(f.path)) await writeFile(f.path, f.contents);
const rank = (p) => ENTRY_ORDER.findIndex((e) => p.endsWith(`/${e}`) || p.endsWith(`/${e}.map`));
for (const f of [...result.outputFiles].sort((a, b) => rank(a.path) - rank(b.path))) {
  if (!entries.has(f.path)) continue;
  const tmp = `${f.path}.${process.pid}.tmp`;
  await writeFile(tmp, f.contents);
  await rename(tmp, f.path);
}

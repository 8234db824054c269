// Bundles the compiled CLI (dist/src, from tsc) into dist/bundle/ so a command
// loads a few files instead of ~100 ES modules: main.js plus one chunk per
// command (code splitting follows the literal import()s of cli/dispatch.ts,
// glue/open-store.ts, …), and the eval worker as its own entry. Then it builds
// the V8 startup snapshot (scripts/snapshot.mjs) into the same directory.
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
// Each build goes to a new directory, dist/bundle.<stamp>, and dist/bundle is
// a symlink switched to it by one rename: no process ever sees a half-written
// bundle, and a process started from the previous one (a daemon loading a
// command's chunk later; Node resolves the entry's real path) keeps its
// files. Directories replaced more than KEEP_MS ago are removed.
//
// Optional: without esbuild (offline install), or when the bundle cannot be
// built (e.g. a LITERAL_IMPORTS pattern changed), it removes dist/bundle and
// bin/tix runs dist/src directly.
import { lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSnapshot } from './snapshot.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const srcDir = join(dist, 'src');
const outDir = join(dist, 'bundle');
/** A replaced bundle directory is kept this long for processes still running from it. */
const KEEP_MS = 10 * 60 * 1000;

/** Make dist/bundle absent: bin/tix then runs dist/src. */
function removeBundle() {
  try {
    if (lstatSync(outDir).isSymbolicLink()) rmSync(outDir);
    else rmSync(outDir, { recursive: true, force: true });
  } catch {
    // none
  }
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('bundle: esbuild not installed; bin/tix will use dist/src');
  removeBundle();
  process.exit(0);
}

/** Source edits that keep a dynamic target inside the bundle: [file, from, to]. */
const LITERAL_IMPORTS = [
  // The eval worker is bundled as dist/bundle/eval-worker.js, next to the chunk.
  ['glue/instantiate.js', "new URL('./eval-worker.js', import.meta.url)", "new URL('./eval-worker.js', import.meta.url)"],
  ['build/hooks.js', 'await import(spec)', "await import('./sandbox/index.js')"],
];

const KEEP = '\u0000TIX_KEEP_META_URL\u0000';

/**
 * Loader of dist/src files. `metaUrl` is the expression for the URL of a
 * file in the bundle directory: `import.meta.url` in the ESM bundle, a
 * global the snapshot entry sets in the CommonJS one.
 */
function sourcePlugin(metaUrl) {
  return {
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
          text = text.replaceAll('import.meta.url', `new URL(${own}, ${metaUrl}).href`);
        }
        text = text.replaceAll(KEEP, metaUrl);
        return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** Without a bundle bin/tix runs dist/src: slower start-up, same behaviour. */
function giveUp(why) {
  console.error(`bundle: ${why}; not bundling (bin/tix will use dist/src)`);
  removeBundle();
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
    plugins: [sourcePlugin('import.meta.url')],
    write: false,
  });
} catch (e) {
  giveUp(e instanceof Error ? e.message : String(e));
}

// The new directory sits beside dist/bundle (same depth, so the relative
// dist/src URLs above hold) and is complete before it is switched to.
const stamp = `${Date.now().toString(36)}-${process.pid}`;
const genName = `bundle.${stamp}`;
const genDir = join(dist, genName);
mkdirSync(genDir);
for (const f of result.outputFiles) writeFileSync(join(genDir, relative(outDir, f.path)), f.contents);
const blobs = await buildSnapshot({ esbuild, srcDir, dir: genDir, sourcePlugin });
if (blobs.length === 0) console.error('bundle: no startup snapshot; bin/tix starts commands from the ESM bundle');

// A dist/bundle directory of an older bundle.mjs is moved aside (briefly absent: bin/tix then runs dist/src).
let previous;
try {
  previous = lstatSync(outDir).isSymbolicLink() ? readlinkSync(outDir) : `bundle.old-${stamp}`;
  if (previous === `bundle.old-${stamp}`) renameSync(outDir, join(dist, previous));
} catch {
  // first build
}
const link = join(dist, `.bundle-link.${stamp}`);
symlinkSync(genName, link);
renameSync(link, outDir);

// The directory just replaced starts its KEEP_MS now; older ones past it go.
const now = Date.now();
if (previous !== undefined) {
  try {
    utimesSync(join(dist, previous), now / 1000, now / 1000);
  } catch {
    // gone already
  }
}
for (const d of readdirSync(dist)) {
  if (!d.startsWith('bundle.') || d === genName || d === readlinkSync(outDir)) continue;
  const p = join(dist, d);
  try {
    if (now - statSync(p).mtimeMs > KEEP_MS) rmSync(p, { recursive: true, force: true });
  } catch {
    // removed concurrently
  }
}

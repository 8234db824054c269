// The V8 startup snapshot of tix (Node's `--build-snapshot`), built by
// scripts/bundle.mjs into each new bundle directory before it becomes
// dist/bundle. A command started from it skips loading and compiling the
// bundle's modules (about 40 ms of the ~65 ms tix spends above bare Node).
//
// 1. esbuild bundles src/cli/launch/snapshot-entry.js into one CommonJS file,
//    snapshot.cjs (a snapshot cannot hold ES modules). `import.meta.url` of
//    every module is rewritten against `globalThis.__TIX_BUNDLE_FILE`, which
//    the entry sets at run time from the blob's real path, so modules find
//    the eval worker and native addons of the build the blob belongs to.
//    node:worker_threads and node:child_process are replaced by facades that
//    load them at first use: loading worker_threads while a snapshot is built
//    bakes in a SharedArrayBuffer-less cwd counter, and threads started later
//    die in process.cwd().
// 2. `node --stack-size=N --snapshot-blob snap-<N>-<node id>.blob
//    --build-snapshot snapshot.cjs` for each stack size bin/tix may pass. The
//    blob only loads in the same node binary with the same V8 flags (else
//    Node exits 14, no fallback), so its name carries both: N, and the node
//    binary's dev, inode, size and mtime (as bin/tix stats `node` on PATH).
//    V8 also folds the CPU features it detects into that check (a dist/ built
//    on one machine and run on another): `<blob>.cpu` holds the CPU's flags
//    line from /proc/cpuinfo, and the blob is used only where it is the same.
//
// Optional like the bundle: any failure leaves no blob and bin/tix runs the
// ESM bundle instead.
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const LAZY_BUILTINS = ['worker_threads', 'child_process'];

/** ES module text re-exporting `node:<name>`, loaded on first call. */
function lazyBuiltin(name) {
  const real = createRequire(import.meta.url)(`node:${name}`);
  let out = `const load = () => require('node:${name}');\n`;
  for (const k of Object.keys(real)) {
    if (k === 'default' || !/^[A-Za-z_$][\w$]*$/.test(k)) continue;
    const v = real[k];
    if (typeof v === 'function') {
      out += `export function ${k}(...a) { return new.target ? new (load().${k})(...a) : load().${k}(...a); }\n`;
    } else if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) {
      // Constants (isMainThread, threadId): a snapshot process is always a main thread.
      out += `export const ${k} = ${JSON.stringify(v)};\n`;
    }
    // Objects (parentPort, workerData, …) exist only in worker threads, which never start from the snapshot.
  }
  return out;
}

const lazyBuiltinsPlugin = {
  name: 'tix-lazy-builtins',
  setup(build) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    // The facade's own require() must stay the real module, not resolve to the facade again.
    build.onResolve({ filter }, (a) => (a.namespace === 'tix-lazy' ? { path: a.path, external: true } : { path: a.path.replace(/^node:/, ''), namespace: 'tix-lazy' }));
    build.onLoad({ filter: /.*/, namespace: 'tix-lazy' }, (a) => ({ contents: lazyBuiltin(a.path), loader: 'js' }));
  },
};

/** RLIMIT_STACK soft limit (KiB) of this process, as bin/tix computes --stack-size from it. */
function stackKb() {
  const r = spawnSync('/bin/sh', ['-c', 'ulimit -s'], { encoding: 'utf8' });
  const s = r.stdout.trim();
  const kb = s === 'unlimited' ? 65536 : Math.min(Number(s), 65536);
  return Number.isFinite(kb) && kb >= 3072 ? kb - 1024 : undefined;
}

/** The name part bin/tix derives from `stat node`: dev, inode, size, mtime (s), in hex. */
export function nodeId(path = process.execPath) {
  const st = statSync(path, { bigint: true });
  return [st.dev, st.ino, st.size, st.mtimeNs / 1_000_000_000n].map((x) => x.toString(16)).join('-');
}

/** The first `flags` (x86) or `Features` (arm) line of /proc/cpuinfo, '' without one (as bin/tix reads it). */
export function cpuFlags() {
  try {
    return /^(?:flags|Features)\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1').slice(0, 8192))?.[1] ?? '';
  } catch {
    return '';
  }
}

export function blobName(kb, node = nodeId()) {
  return `snap-${kb}-${node}.blob`;
}

/**
 * Build snapshot.cjs and the blobs in `dir` (a bundle directory not yet in
 * use). `sourcePlugin(metaUrlExpr)` is bundle.mjs's dist/src loader. Returns
 * the blob names written; logs and returns [] on failure.
 */
export async function buildSnapshot({ esbuild, srcDir, dir, sourcePlugin }) {
  const script = join(dir, 'snapshot.cjs');
  try {
    await esbuild.build({
      entryPoints: [join(srcDir, 'cli/launch/snapshot-entry.js')],
      outfile: script,
      bundle: true,
      splitting: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: ['better-sqlite3', 'koffi', 'smol-toml'],
      keepNames: true,
      logLevel: 'error',
      plugins: [lazyBuiltinsPlugin, sourcePlugin('globalThis.__TIX_BUNDLE_FILE')],
    });
  } catch (e) {
    console.error(`snapshot: bundling failed (${e instanceof Error ? e.message : e}); commands start from the ESM bundle`);
    rmSync(script, { force: true });
    return [];
  }
  const sizes = new Set([7168, stackKb()].filter((x) => x !== undefined));
  const written = [];
  for (const kb of sizes) {
    const blob = join(dir, blobName(kb));
    const tmp = `${blob}.${process.pid}.tmp`;
    const r = spawnSync(process.execPath, [`--stack-size=${kb}`, '--snapshot-blob', tmp, '--build-snapshot', script], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    // Node warns that some built-in modules are "not yet fully verified" in a snapshot; only failures matter.
    if (r.status !== 0) {
      console.error(`snapshot: building ${blobName(kb)} failed (${r.error?.message ?? `status ${r.status}`}): ${r.stderr.split('\n').filter((l) => !/Warning|may still|To request/.test(l)).join('\n').slice(-2000)}`);
      rmSync(tmp, { force: true });
      continue;
    }
    // A blob that builds but cannot run a command would make bin/tix fail, not fall back.
    const nowhere = '/proc/nonexistent/tix-snapshot-check';
    const check = spawnSync(process.execPath, [`--stack-size=${kb}`, '--snapshot-blob', tmp, 'nix-instantiate', '--eval', '-E', '6 * 7'], {
      cwd: '/',
      env: { PATH: process.env.PATH, HOME: nowhere, NIX_STORE_DIR: `${nowhere}/store`, NIX_STATE_DIR: `${nowhere}/var`, NIX_LOG_DIR: `${nowhere}/log`, NIX_CONF_DIR: `${nowhere}/etc` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (check.status !== 0 || check.stdout !== '42\n') {
      console.error(`snapshot: ${blobName(kb)} does not run a command (status ${check.status}): ${check.stderr.slice(-2000)}`);
      rmSync(tmp, { force: true });
      continue;
    }
    writeFileSync(`${blob}.cpu`, cpuFlags());
    renameSync(tmp, blob);
    written.push(blobName(kb));
  }
  return written;
}

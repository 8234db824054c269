/**
 * Entry of tix's V8 startup snapshot. scripts/snapshot.mjs bundles this file
 * into one CommonJS script (`snapshot.cjs` in the bundle directory) and runs
 * `node --stack-size=N --build-snapshot` on it: every command module is loaded
 * then, once, and the resulting heap is the blob (`snap-<N>-<node id>.blob`).
 * A process started with `node --stack-size=N --snapshot-blob <blob> …`
 * begins from that heap and runs `main` below instead of a script:
 *
 *   node … --snapshot-blob B <argv0> args…        one command, as bin/tix-node.mjs
 *   node … --snapshot-blob B __tix_child <pid>    a warm child of the pool (child.ts)
 *
 * Module top-level code therefore runs in the building process: it must not
 * capture process state (uid, pid, cwd, environment) or make a
 * SharedArrayBuffer (absent while building); node:worker_threads and
 * node:child_process are loaded at first use for the same reason (see the
 * bundler plugin in scripts/snapshot.mjs).
 */
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { bundledCommandModules, loadCommand } from '../dispatch.js';
import { cliEntry } from '../main.js';
import { runWarmChild } from './child.js';

declare global {
  /** URL of a file in the bundle directory: what `import.meta.url` is rewritten to in snapshot.cjs. */
  var __TIX_BUNDLE_FILE: string | undefined;
}

/** The blob this process started from (`--snapshot-blob B` or `--snapshot-blob=B`). */
function blobPath(): string | undefined {
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--snapshot-blob') return a[i + 1];
    if (a[i]!.startsWith('--snapshot-blob=')) return a[i]!.slice('--snapshot-blob='.length);
  }
  return undefined;
}

/**
 * Modules resolve their files (the eval worker, native addons) against the
 * bundle directory the blob lies in, real path, so a process keeps to its
 * own build while `dist/bundle` is switched to a newer one.
 */
function setBundleDir(blob: string): void {
  globalThis.__TIX_BUNDLE_FILE = pathToFileURL(`${dirname(realpathSync(blob))}/snapshot.cjs`).href;
}

/** Run `<argv0> args…`, or a pool child for `__tix_child <manager pid>`. */
function run(argv: string[]): void {
  const [argv0, ...args] = argv;
  if (argv0 === '__tix_child') {
    void runWarmChild(Number(args[0]));
    return;
  }
  if (argv0 === undefined) {
    process.stderr.write('usage: node --snapshot-blob BLOB ARGV0 ARGS…\n');
    process.exitCode = 2;
    return;
  }
  process.argv = [process.argv[0]!, argv0, ...args];
  void cliEntry(argv0, args);
}

/** Load every command module now, so their code is in the snapshot's heap. */
async function preload(): Promise<void> {
  for (const m of bundledCommandModules()) await loadCommand(m, m);
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  // While building, argv[1] is this script (snapshot.cjs, in the bundle directory).
  globalThis.__TIX_BUNDLE_FILE = pathToFileURL(realpathSync(process.argv[1]!)).href;
  preload().catch((e: unknown) => {
    process.stderr.write(`snapshot: preload failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    const blob = blobPath();
    if (blob !== undefined) setBundleDir(blob);
    run(process.argv.slice(1));
  });
} else {
  // `node snapshot.cjs ARGV0 ARGS…`: the same code without a snapshot (a check of the bundle).
  globalThis.__TIX_BUNDLE_FILE = pathToFileURL(realpathSync(process.argv[1]!)).href;
  run(process.argv.slice(2));
}

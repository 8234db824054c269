/**
 * Isolated Nix roots for tests (never the machine's /nix), and a runner that
 * executes the same command under the reference Nix 2.8 and under tix.
 *
 * A root has `store/`, `var/` (state), `log/` and `etc/` (conf, with the
 * nix.conf our DEVELOPERS notes prescribe). Both implementations see the same
 * environment, so their outputs can be compared after normalising the root.
 */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, chmodSync } from 'node:fs';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is dist/test/harness/roots.js after the build). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const TIX_BIN = join(REPO_ROOT, 'bin');
/** Where the reference Nix 2.8 lives (Debian nix-bin). */
export const REF_BIN = process.env.TIX_REF_BIN ?? '/usr/bin';

export function haveReference(): boolean {
  return existsSync(join(REF_BIN, 'nix-store'));
}

export interface NixRoot {
  dir: string;
  storeDir: string;
  stateDir: string;
  logDir: string;
  confDir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export interface RootOptions {
  /** Extra nix.conf lines. */
  conf?: string;
  /** Use this dir instead of a fresh temp dir. */
  dir?: string;
}

const BASE_CONF = [
  'build-users-group =',
  'substituters =',
  'sandbox = false',
  'experimental-features = nix-command recursive-nix',
].join('\n');

export function makeRoot(opts: RootOptions = {}): NixRoot {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tix-test-'));
  chmodSync(dir, 0o755);
  const root = {
    dir,
    storeDir: join(dir, 'store'),
    stateDir: join(dir, 'var'),
    logDir: join(dir, 'log'),
    confDir: join(dir, 'etc'),
  };
  for (const d of [root.storeDir, root.stateDir, root.logDir, root.confDir]) mkdirSync(d, { recursive: true });
  writeFileSync(join(root.confDir, 'nix.conf'), BASE_CONF + '\n' + (opts.conf ?? '') + '\n');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    NIX_STORE_DIR: root.storeDir,
    NIX_STATE_DIR: root.stateDir,
    NIX_LOG_DIR: root.logDir,
    NIX_CONF_DIR: root.confDir,
    NIX_REMOTE: '',
    NIX_PATH: '',
    TMPDIR: process.env.TMPDIR ?? '/tmp',
    LANG: 'C.UTF-8',
  };
  mkdirSync(env.HOME!, { recursive: true });
  return {
    ...root,
    env,
    cleanup() {
      // Store files are read-only (0444/0555): make them writable first.
      spawnSync('chmod', ['-R', 'u+w', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Uint8Array;
  cwd?: string;
  timeoutMs?: number;
}

function toResult(r: SpawnSyncReturns<Buffer>, what: string): RunResult {
  if (r.error) throw new Error(`failed to run ${what}: ${r.error.message}`);
  return {
    status: r.status ?? 128 + (r.signal ? 9 : 0),
    stdout: r.stdout.toString('utf8'),
    stderr: r.stderr.toString('utf8'),
    stdoutBytes: r.stdout,
  };
}

/** Run a program by its Nix name (`nix-store`, `nix`, …) from the given bin dir. */
export function runIn(binDir: string, root: NixRoot, prog: string, args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(join(binDir, prog), args, {
    env: { ...root.env, ...opts.env },
    input: opts.input,
    cwd: opts.cwd ?? root.dir,
    maxBuffer: 1 << 30,
    timeout: opts.timeoutMs ?? 120_000,
  });
  return toResult(r, `${binDir}/${prog}`);
}

export function runRef(root: NixRoot, prog: string, args: string[], opts?: RunOptions): RunResult {
  return runIn(REF_BIN, root, prog, args, opts);
}

export function runTix(root: NixRoot, prog: string, args: string[], opts?: RunOptions): RunResult {
  return runIn(TIX_BIN, root, prog, args, opts);
}

/** Replace the temp root in output so two roots' results compare equal. */
export function normalise(text: string, root: NixRoot): string {
  return text.split(root.dir).join('$ROOT');
}

/**
 * Run under both implementations in turn, each in a fresh root at the *same*
 * directory: store paths depend on the store dir, so this keeps them comparable.
 */
export function runBoth(prog: string, args: string[], opts: RunOptions & RootOptions = {}): { ref: RunResult; tix: RunResult } {
  const base = mkdtempSync(join(tmpdir(), 'tix-both-'));
  const dir = join(base, 'r');
  try {
    const a = makeRoot({ ...opts, dir });
    const ref = runRef(a, prog, args, opts);
    a.cleanup();
    const b = makeRoot({ ...opts, dir });
    const tix = runTix(b, prog, args, opts);
    b.cleanup();
    return { ref, tix };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/**
 * Work a warm child does before it waits for a job, so the job does not pay
 * V8's lazy compilation of the common paths (argv parsing, settings, the
 * evaluator, printing, hashing) on its first call.
 *
 * Side-effect free: the commands run with in-memory stdio and an environment
 * whose Nix directories lie under /proc/nonexistent, where nothing can be
 * created; only pure commands are run (an evaluation that touches no store,
 * a hash conversion). The child keeps this environment until a job replaces
 * it, so it never carries the environment of the client that started the pool.
 *
 * Then one trivial `nix-build` in a throwaway store under the temp dir,
 * removed afterwards (nix-build.ts `warmUpBuild`): a job's build path was
 * otherwise cold, and the first build in a process paid ~25 ms (better-sqlite3
 * and koffi loading, SQLite's first open, lazy compilation of the store and
 * build code) of a ~45 ms `nix-store -r`. It costs each child ~35 ms of CPU
 * and ~10 MB before it is ready; TIX_WARM_BUILD=0 (in the environment that
 * starts the pool) leaves it out.
 */
import { Readable, Writable } from 'node:stream';
import { loadSettings, nixDirs } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { main } from '../main.js';

const NOWHERE = '/proc/nonexistent/tix-warm-up';

const COMMANDS: [string, string[]][] = [
  ['nix-instantiate', ['--eval', '--strict', '-E',
    'let f = x: { a = x + 1; b = "s${toString x}"; c = builtins.map (y: y * 2) [ x 2 ]; }; in [ (f 1) (builtins.attrNames (f 2)) (builtins.hashString "sha256" "x") ]']],
  ['nix-hash', ['--type', 'sha256', '--to-base32', '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881']],
  // Calls, arithmetic and comparisons enough times for V8 to compile the evaluator's hot paths.
  ['nix-instantiate', ['--eval', '--strict', '-E', 'let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 5000']],
];

export function setNowhereEnv(): void {
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, {
    NIX_STORE_DIR: `${NOWHERE}/store`,
    NIX_STATE_DIR: `${NOWHERE}/var`,
    NIX_LOG_DIR: `${NOWHERE}/log`,
    NIX_CONF_DIR: `${NOWHERE}/etc`,
    NIX_REMOTE: '',
    NIX_PATH: '',
    HOME: NOWHERE,
  });
}

export async function warmUp(): Promise<void> {
  // TIX_WARM_BUILD=0 (in the environment that started the pool) leaves out the build warm-up.
  const warmBuild = process.env.TIX_WARM_BUILD !== '0';
  setNowhereEnv();
  const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
  for (const [prog, args] of COMMANDS) {
    const ctx: CliContext = {
      programName: prog,
      env: process.env,
      settings: loadSettings(process.env),
      dirs: nixDirs(process.env),
      stdout: sink(),
      stderr: sink(),
      stdin: Readable.from([]),
    };
    await main(prog, args, ctx).catch(() => 1);
  }
  // The build path (store open with SQLite, goals, spawn, registration) in a throwaway store of its own.
  if (warmBuild) await (await import('../nix-build.js')).warmUpBuild();
}

/**
 * Unsandboxed builds (`sandbox = false`): Nix 2.8 `startBuilder` without
 * chroot — the builder runs as a child in its own session (`setsid`), with
 * stdin from /dev/null, stdout and stderr on one log pipe, umask 0022, the
 * build dir as cwd and only the computed environment.
 *
 * Node cannot dup one pipe onto fds 1 and 2 of a child, so a `/bin/sh`
 * trampoline does `exec 2>&1` and then `exec`s the builder (same pid, same
 * process group); the order of stdout/stderr bytes is then the builder's own.
 *
 * The usual way is neither: `spawnNative` starts the builder itself with
 * posix_spawn (posix-spawn.ts), which puts one pipe on fds 1 and 2 and does
 * not fork this process. The trampoline (through posix_spawn too) remains for
 * a umask other than 022, which posix_spawn cannot set.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { PassThrough } from 'node:stream';
import type { BuilderProcess, Sandbox, SpawnRequest } from '../hooks.js';
import { currentUmask, nativeSpawn } from './posix-spawn.js';
import { spawnViaHelper } from './spawn-helper.js';

// Nix reports an unstartable builder as "executing '<builder>': <error>" and status 1.
const TRAMPOLINE = [
  'exec 2>&1; umask 022',
  `if [ ! -e "$1" ]; then echo "executing '$1': No such file or directory"; exit 1; fi`,
  `if [ ! -x "$1" ] || [ -d "$1" ]; then echo "executing '$1': Permission denied"; exit 1; fi`,
  'exec "$@"',
].join('\n');

/** Sorted, as 2.8 builds the environment from a std::map. */
function sortedEnv(env: Record<string, string>): [string, string][] {
  return Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function killGroup(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * The builder started with posix_spawn, or undefined when that is unavailable.
 * An exec failure is reported as 2.8's child reports it: "executing '…':
 * <strerror>" in the log, status 1.
 */
export function spawnNative(req: SpawnRequest): BuilderProcess | undefined {
  const direct = currentUmask() === 0o022;
  const env = sortedEnv(req.env).map(([k, v]) => `${k}=${v}`);
  const child = direct
    ? // 2.8 gives the builder its base name as argv[0] (what `bash: line 1: …` errors show).
      nativeSpawn({ file: req.builder, argv: [basename(req.builder), ...req.args], env, cwd: req.cwd, output: 'pipe' })
    : nativeSpawn({ file: '/bin/sh', argv: ['/bin/sh', '-c', TRAMPOLINE, 'nix-builder', req.builder, ...req.args], env, cwd: req.cwd, output: 'pipe' });
  if (child === undefined) return undefined;
  if (!child.ok) {
    if (!direct) return undefined; // /bin/sh itself failed: let the other ways try
    const output = new PassThrough();
    output.end(`executing '${req.builder}': ${child.message}\n`);
    return { pid: -1, output, exited: Promise.resolve({ code: 1, signal: null }), kill: () => {} };
  }
  const { pid } = child;
  return { pid, output: child.output!, exited: child.exited, kill: () => killGroup(pid) };
}

export function spawnDirect(req: SpawnRequest): BuilderProcess {
  const child = spawn('/bin/sh', ['-c', TRAMPOLINE, 'nix-builder', req.builder, ...req.args], {
    env: Object.fromEntries(sortedEnv(req.env)),
    cwd: req.cwd,
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: 127, signal: null }));
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    output: child.stdout!,
    exited,
    kill: () => killGroup(pid),
  };
}

/** The "no sandbox" sandbox: the build dir is seen at its host path. */
export function directSandbox(buildDir: string): Sandbox {
  return {
    buildDirInSandbox: buildDir,
    spawn: async (req) => spawnNative(req) ?? spawnViaHelper(req) ?? spawnDirect(req),
    addPath: async () => {},
    destroy: async () => {},
  };
}

/**
 * Unsandboxed builds (`sandbox = false`): Nix 2.8 `startBuilder` without
 * chroot — the builder runs as a child in its own session (`setsid`), with
 * stdin from /dev/null, stdout and stderr on one log pipe, umask 0022, the
 * build dir as cwd and only the computed environment.
 *
 * Node cannot dup one pipe onto fds 1 and 2 of a child, so a `/bin/sh`
 * trampoline does `exec 2>&1` and then `exec`s the builder (same pid, same
 * process group); the order of stdout/stderr bytes is then the builder's own.
 */
import { spawn } from 'node:child_process';
import type { BuilderProcess, Sandbox, SpawnRequest } from '../hooks.js';
import { spawnViaHelper } from './spawn-helper.js';

// Nix reports an unstartable builder as "executing '<builder>': <error>" and status 1.
const TRAMPOLINE = [
  'exec 2>&1; umask 022',
  `if [ ! -e "$1" ]; then echo "executing '$1': No such file or directory"; exit 1; fi`,
  `if [ ! -x "$1" ] || [ -d "$1" ]; then echo "executing '$1': Permission denied"; exit 1; fi`,
  'exec "$@"',
].join('\n');

export function spawnDirect(req: SpawnRequest): BuilderProcess {
  const child = spawn('/bin/sh', ['-c', TRAMPOLINE, 'nix-builder', req.builder, ...req.args], {
    // Sorted, as 2.8 builds the environment from a std::map.
    env: Object.fromEntries(Object.entries(req.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
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
    kill() {
      if (pid <= 0) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}

/** The "no sandbox" sandbox: the build dir is seen at its host path. */
export function directSandbox(buildDir: string): Sandbox {
  return {
    buildDirInSandbox: buildDir,
    spawn: async (req) => spawnViaHelper(req) ?? spawnDirect(req),
    addPath: async () => {},
    destroy: async () => {},
  };
}

/**
 * Running a builder without a sandbox (`sandbox = false`, `__noChroot` in
 * relaxed mode, or `sandbox-fallback`), as 2.8 does in that case: on the host,
 * in the real build dir, as the build user if one is set, in its own process
 * group so a kill reaches what it started (short of processes that leave the
 * group, which only the sandbox's pid namespace can catch).
 */
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { BuilderProcess, Sandbox, SpawnRequest } from './types.js';
import type { BuildUser } from './build-user.js';

export class NoSandbox implements Sandbox {
  readonly buildDirInSandbox: string;

  constructor(private readonly buildDir: string, private readonly buildUser?: BuildUser) {
    this.buildDirInSandbox = buildDir;
  }

  async spawn(req: SpawnRequest): Promise<BuilderProcess> {
    const child = spawn(req.builder, [...req.args], {
      cwd: req.cwd,
      env: { ...req.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(this.buildUser ? { uid: this.buildUser.uid, gid: this.buildUser.gid } : {}),
    });
    const output = new PassThrough();
    let open = 2;
    const done = (): void => {
      if (--open === 0) output.end();
    };
    for (const s of [child.stdout!, child.stderr!]) {
      s.on('data', (d: Buffer) => output.write(d));
      s.on('end', done);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return {
      pid: child.pid!,
      output,
      exited,
      kill: () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      },
    };
  }

  /** Unsandboxed builders see the whole store: nothing to inject. */
  async addPath(_path: string): Promise<void> {}

  async destroy(): Promise<void> {
    this.buildUser?.release();
  }
}

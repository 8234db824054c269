/**
 * Sandbox helpers started ahead of their builds. Starting the perl helper
 * (Node's fork of itself, exec, perl start-up) is the largest single cost of
 * a sandboxed build that tix controls; Nix 2.8 pays nothing like it because
 * it forks itself. So a `LinuxSandbox` takes its helper when it is created,
 * not when the builder is spawned (the builder's environment, log and
 * recursive-Nix socket are prepared meanwhile), and after a sandboxed build
 * (from the second on) one idle helper is started for the next build of this
 * process; a warm process can start one ahead (`prestartSandboxHelper`).
 *
 * An idle helper only waits for its job on fd 3 (see helper-script.ts); it
 * holds no mount, dies with tix (PR_SET_PDEATHSIG), exits on EOF, and does
 * not keep tix's event loop alive. `TIX_SANDBOX_WARM=0` turns the idle helper
 * off (benchmarks measure both ways).
 *
 * The helper is started with posix_spawn (`NativeHelper`), not Node's spawn,
 * which forks this whole process on the main thread (2.5–8 ms, growing with
 * its size); Node's spawn remains the fallback.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Socket } from 'node:net';
import { HELPER_SCRIPT } from './helper-script.js';
import type { SandboxTools } from './availability.js';
import { nativePipe, nativeSocketPair, setChildRef, spawnWithFds } from '../builder/posix-spawn.js';

/** What the sandbox uses of a helper process: Node's ChildProcess has it, and so has NativeHelper. */
export interface HelperChild {
  readonly pid?: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly killed: boolean;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: readonly unknown[];
  kill(signal?: NodeJS.Signals): boolean;
  ref(): void;
  unref(): void;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (e: Error) => void): this;
}

/** The helper as started by posix_spawn: stdin /dev/null, stdout and stderr pipes, fd 3 a socket. */
class NativeHelper extends EventEmitter implements HelperChild {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  readonly stdio: [null, Socket, Socket, Socket];

  constructor(readonly pid: number, exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>, out: number, err: number, ctl: number) {
    super();
    this.stdio = [null, new Socket({ fd: out, readable: true, writable: false }), new Socket({ fd: err, readable: true, writable: false }), new Socket({ fd: ctl, readable: true, writable: true })];
    void exited.then(({ code, signal }) => {
      this.exitCode = code;
      this.signalCode = signal;
      this.emit('exit', code, signal);
    });
  }

  get stdout(): Socket {
    return this.stdio[1];
  }

  get stderr(): Socket {
    return this.stdio[2];
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    try {
      process.kill(this.pid, signal);
      this.killed = true;
      return true;
    } catch {
      return false;
    }
  }

  ref(): void {
    setChildRef(this.pid, true);
  }

  unref(): void {
    setChildRef(this.pid, false);
  }
}

/** The helper through posix_spawn, or undefined (then Node's spawn). */
function startNative(argv: string[], env: string[]): HelperChild | undefined {
  const fds: number[] = [];
  const close = (): void => fds.forEach((fd) => closeSync(fd));
  const out = nativePipe();
  if (out) fds.push(...out);
  const err = out && nativePipe();
  if (err) fds.push(...err);
  const ctl = err && nativeSocketPair();
  if (ctl) fds.push(...ctl);
  if (!out || !err || !ctl) {
    close();
    return undefined;
  }
  const r = spawnWithFds({ file: argv[0]!, argv, env, cwd: '/', fds: [null, out[1], err[1], ctl[1]] });
  for (const fd of [out[1], err[1], ctl[1]]) closeSync(fd); // the child's ends
  if (r === undefined || !r.ok) {
    for (const fd of [out[0], err[0], ctl[0]]) closeSync(fd);
    return undefined;
  }
  return new NativeHelper(r.pid, r.exited, out[0], err[0], ctl[0]);
}

let idle: HelperChild | undefined;
let idleKey = '';

const HELPER_ENV = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LC_ALL: 'C' };

/** Which helper program a build of these tools takes (an idle helper of another is not reused). */
function helperKey(tools: SandboxTools): string {
  return tools.native ?? tools.perl;
}

/** A fresh helper (not the idle one). */
export function startHelper(tools: SandboxTools): HelperChild {
  const argv = tools.native ? [tools.native] : [tools.perl, '-e', HELPER_SCRIPT, String(tools.syscalls.prctl)];
  const native = startNative(argv, Object.entries(HELPER_ENV).map(([k, v]) => `${k}=${v}`));
  if (native) return native;
  const c = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    // Nothing of tix's or the builder's environment reaches the helper (think LD_PRELOAD).
    env: HELPER_ENV,
  });
  c.on('error', () => undefined); // a helper that cannot start closes fd 3: the build reports it
  return c;
}

function running(c: HelperChild): boolean {
  return c.exitCode === null && c.signalCode === null && !c.killed;
}

function handles(c: HelperChild): Array<{ ref(): unknown; unref(): unknown }> {
  return [c, c.stdout as unknown as Socket, c.stderr as unknown as Socket, c.stdio[3] as Socket];
}

/** A helper for a new build: the idle one if it is still there, else a fresh one. */
export function takeHelper(tools: SandboxTools): HelperChild {
  const c = idle;
  idle = undefined;
  if (c && idleKey === helperKey(tools) && running(c)) {
    for (const h of handles(c)) h.ref();
    return c;
  }
  if (c) c.kill('SIGKILL');
  return startHelper(tools);
}

let finished = 0;

/**
 * A sandboxed build is done: start the idle helper for the next one, from the
 * second build of the process on (a process that builds one derivation would
 * only fork a helper it never uses, as the builder's spawn helper reasons).
 */
export function buildFinished(tools: SandboxTools): void {
  if (finished++ >= 1) prewarmHelper(tools);
}

/** Start the idle helper for the next build. */
export function prewarmHelper(tools: SandboxTools): void {
  if (process.env.TIX_SANDBOX_WARM === '0' || (idle && running(idle))) return;
  const c = startHelper(tools);
  c.on('exit', () => {
    if (idle === c) idle = undefined;
  });
  for (const h of handles(c)) h.unref();
  idle = c;
  idleKey = helperKey(tools);
}

/** Is an idle helper waiting? (benchmarks wait for it outside their timing) */
export function idleHelperPid(): number | undefined {
  return idle && running(idle) ? idle.pid : undefined;
}

/** Stop the idle helper (tests; a process that will not build again). */
export function dropIdleHelper(): void {
  idle?.kill('SIGKILL');
  idle = undefined;
}

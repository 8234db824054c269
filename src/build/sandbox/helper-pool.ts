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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { HELPER_SCRIPT } from './helper-script.js';
import type { SandboxTools } from './availability.js';

let idle: ChildProcess | undefined;
let idlePerl = '';

function start(tools: SandboxTools): ChildProcess {
  const c = spawn(tools.perl, ['-e', HELPER_SCRIPT, String(tools.syscalls.prctl)], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    // Nothing of tix's or the builder's environment reaches the helper (think LD_PRELOAD).
    env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LC_ALL: 'C' },
  });
  c.on('error', () => undefined); // a helper that cannot start closes fd 3: the build reports it
  return c;
}

function running(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null && !c.killed;
}

function handles(c: ChildProcess): Array<{ ref(): unknown; unref(): unknown }> {
  return [c, c.stdout as Readable as unknown as Socket, c.stderr as Readable as unknown as Socket, c.stdio[3] as Socket];
}

/** A helper for a new build: the idle one if it is still there, else a fresh one. */
export function takeHelper(tools: SandboxTools): ChildProcess {
  const c = idle;
  idle = undefined;
  if (c && idlePerl === tools.perl && running(c)) {
    for (const h of handles(c)) h.ref();
    return c;
  }
  if (c) c.kill('SIGKILL');
  return start(tools);
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
  const c = start(tools);
  c.on('exit', () => {
    if (idle === c) idle = undefined;
  });
  for (const h of handles(c)) h.unref();
  idle = c;
  idlePerl = tools.perl;
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

/**
 * When a warm child may serve another job after this one (child.ts).
 *
 * Two gates. First a whitelist of commands whose code keeps no state of a
 * job in the process once it returns (`reusableCommand`): evaluation, queries
 * and adds, builds (which leave the process to a daemon or show their leftovers
 * to the second gate). Second, after the command returned, a check that it left
 * nothing behind (`leftovers`): no fd it opened is still open (an open store,
 * database, lock or connection), no handle or request keeps the event loop
 * busy (a timer, a child process, a worker), no process listener was added
 * (signal handlers, 'exit' hooks), process.exitCode was not set, stdin was
 * not read and stdout/stderr did not fail. A job that fails either gate, calls
 * process.exit or dies of an exception ends its process as a single-use job does.
 *
 * Nothing a command computed is carried over: only code (loaded modules, JIT
 * state) and caches keyed by content survive (compiled regexes, fromJSON
 * shapes, parsed .drv files checked against their bytes), and what any
 * process keeps once for its lifetime, as a single-use child already did
 * after its warm-up build: the builder spawner's reaper and helper, the
 * store's gc.lock fds (see keptFd), and first-use lookups of tools on PATH
 * (the sandbox's availability, bzip2 for logs; a job with another PATH finds
 * the first job's answer). Not seen by the second gate: unref'd timers and
 * handles without an fd; no whitelisted path makes them.
 */
import { readdirSync, readlinkSync } from 'node:fs';

/** `nix` options taking one or two arguments before the subcommand (as nix.ts reads them). */
const NIX_WITH_ARG = new Set(['--store', '--extra-experimental-features', '--experimental-features', '--log-format', '--max-jobs', '-j', '--cores', '-I', '--eval-store']);
const NIX_WITH_TWO = new Set(['--option']);
const NIX_COMMANDS = new Set(['eval', 'path-info', 'build', 'store add-path', 'store add-file', 'hash file', 'hash path', 'hash to-base16', 'hash to-base32', 'hash to-base64', 'hash to-sri']);
/** nix-store operations (first argument). */
const NIX_STORE_OPS = new Set(['-q', '--query', '--add', '--add-fixed', '-r', '--realise']);
const PROGRAMS = new Set(['nix', 'nix-store', 'nix-build', 'nix-instantiate', 'nix-hash']);

/** The `nix` subcommand words (`eval`, `store add-path`), skipping global options. */
function nixSubcommand(args: string[]): string {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const a = args[i]!;
    if (NIX_WITH_ARG.has(a)) i++;
    else if (NIX_WITH_TWO.has(a)) i += 2;
    else if (!a.startsWith('-')) words.push(a);
    else if (words.length > 0) break;
  }
  return words[0] === 'store' || words[0] === 'hash' ? words.join(' ') : words[0] ?? '';
}

/** Whether `program args` is on the whitelist of commands a child may run and then serve another job. */
export function reusableCommand(program: string, args: string[]): boolean {
  if (program === 'tix') {
    if (!PROGRAMS.has(args[0] ?? '')) return false;
    return reusableCommand(args[0]!, args.slice(1));
  }
  // Help may start a pager or man; version and help are not worth a special case.
  if (args.includes('--help') || args.includes('--version')) return false;
  switch (program) {
    case 'nix-instantiate':
    case 'nix-build':
    case 'nix-hash':
      return true;
    case 'nix-store':
      return NIX_STORE_OPS.has(args[0] ?? '') || /^-q[a-zA-Z]*$/.test(args[0] ?? '');
    case 'nix':
      return NIX_COMMANDS.has(nixSubcommand(args));
    default:
      return false;
  }
}

/**
 * Fds kept open by design from one command to the next: the store's one
 * unlocked fd per `gc.lock` (src/store/locks.ts `gcLockFd`), locked shared
 * and dropped around each temp root, and the builder spawner's
 * /proc/self/status (src/build/builder/posix-spawn.ts `currentUmask`, read
 * afresh each time). Another job using the same store uses the gc.lock fd as a
 * second command of one process would; one whose file was deleted (the
 * state directory removed and made anew) would lock the wrong inode, so a
 * child holding such a stale fd takes no further job (`staleFd`).
 */
function keptFd(target: string): boolean {
  return target.endsWith('/gc.lock') || target === `/proc/${process.pid}/status`;
}
/**
 * Process listeners a job may add once, for the life of the process: the
 * builder spawner's SIGCHLD reaper (posix-spawn.ts), which serves every later build.
 */
const KEPT_LISTENERS = new Set<string | symbol>(['SIGCHLD']);
/** Kept fds beyond which a child serves no more jobs (each store a job used keeps one). */
export const MAX_KEPT_FDS = 64;

/** What a job could leave behind, captured before it starts. */
export interface ProcessState {
  fds: Map<number, string>;
  resources: string[];
  listeners: Map<string | symbol, number>;
}

function openFds(): Map<number, string> {
  const m = new Map<number, string>();
  for (const f of readdirSync('/proc/self/fd')) {
    try {
      m.set(Number(f), readlinkSync(`/proc/self/fd/${f}`));
    } catch {
      // the directory's own fd, closed by now
    }
  }
  return m;
}

export function captureState(): ProcessState {
  // (The fds, listeners and resources of the process: none of a job's state is read.)
  const listeners = new Map<string | symbol, number>();
  for (const e of process.eventNames()) listeners.set(e, process.listenerCount(e));
  return { fds: openFds(), resources: process.getActiveResourcesInfo().sort(), listeners };
}

/** Why a job that ran from `before` cannot be followed by another in this process, or undefined. */
export function leftovers(before: ProcessState): string | undefined {
  if (process.exitCode !== undefined && process.exitCode !== 0) return `process.exitCode ${process.exitCode}`;
  if (process.exitCode === 0) return 'process.exitCode set';
  for (const [fd, target] of openFds()) {
    if (before.fds.get(fd) !== target && !keptFd(target)) return `fd ${fd} left open (${target})`;
  }
  const resources = process.getActiveResourcesInfo().sort();
  const left = [...before.resources];
  for (const r of resources) {
    const i = left.indexOf(r);
    if (i < 0) return `active ${r}`;
    left.splice(i, 1);
  }
  for (const e of process.eventNames()) {
    const had = before.listeners.get(e) ?? 0;
    if (process.listenerCount(e) > (KEPT_LISTENERS.has(e) && had === 0 ? 1 : had)) return `a process '${String(e)}' listener was added`;
  }
  return undefined;
}

/**
 * A kept fd a job left whose file is gone (see keptFd), or too many kept
 * fds: why this process takes no further job. `warm` is the state before the
 * first job (the warm-up's throwaway store is deleted by design and never used again).
 */
export function staleFd(warm: ProcessState): string | undefined {
  let kept = 0;
  for (const [fd, target] of openFds()) {
    if (warm.fds.get(fd) === target) continue;
    if (target.endsWith(' (deleted)')) return `fd ${fd} is of a deleted file (${target})`;
    if (keptFd(target)) kept++;
  }
  return kept > MAX_KEPT_FDS ? `${kept} lock fds kept` : undefined;
}

/** The store lock fds jobs left (see keptFd), as `fd:target`, for watching their files. */
export function keptLockFds(warm: ProcessState): Array<{ fd: number; key: string }> {
  const out: Array<{ fd: number; key: string }> = [];
  for (const [fd, target] of openFds()) {
    if (warm.fds.get(fd) !== target && target.endsWith('/gc.lock')) out.push({ fd, key: `${fd}:${target}` });
  }
  return out;
}

/**
 * Can this process build in the sandbox? (Nix 2.8 checks the same things when
 * its `clone(CLONE_NEWUSER|…)` fails: `max_user_namespaces`,
 * `unprivileged_userns_clone`, `/proc/self/ns/user`.)
 *
 * tix needs util-linux `unshare` (the probe), the native helper or else
 * bubblewrap and perl, and user namespaces: as root for the builder's own namespace (uid 1000 → build user),
 * and as non-root also for the helper namespace that owns the store view.
 * The answer is computed once per process.
 */
import { accessSync, constants, existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syscallNumbers, type SyscallNumbers } from './helper-script.js';

export interface SandboxTools {
  /**
   * The native helper (native/sandbox/tix-sandbox.c, compiled by scripts/setup.sh
   * into dist/native/), which replaces perl + bubblewrap; undefined when it was not
   * built or `TIX_SANDBOX_NATIVE=0`. Then bwrap and perl are used.
   */
  native?: string | undefined;
  bwrap: string;
  unshare: string;
  perl: string;
  syscalls: SyscallNumbers;
  /** Running as uid 0 in the initial user namespace. */
  root: boolean;
}

export type Availability = { ok: true; tools: SandboxTools } | { ok: false; reason: string };

let cached: Availability | undefined;

/** `storeDir`: where a positive answer may be remembered (see `probeFile`). */
export function sandboxAvailability(storeDir?: string): Availability {
  cached ??= probe(storeDir);
  return cached;
}

/** For tests: forget the cached answer, or pretend one (e.g. "no user namespaces"). */
export function resetAvailability(pretend?: Availability): void {
  cached = pretend;
}

function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (d === '' || !d.startsWith('/')) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* try the next dir */
    }
  }
  return undefined;
}

function readTrim(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The compiled native helper, if it is there and not turned off. */
function nativeHelper(): string | undefined {
  if (process.env.TIX_SANDBOX_NATIVE === '0') return undefined;
  const p = fileURLToPath(new URL('../../../native/tix-sandbox', import.meta.url));
  try {
    accessSync(p, constants.X_OK);
    return p;
  } catch {
    return undefined;
  }
}

function probe(storeDir: string | undefined): Availability {
  if (process.platform !== 'linux') return { ok: false, reason: `sandboxing builds is not supported on this platform (${process.platform})` };
  const syscalls = syscallNumbers();
  if (!syscalls) return { ok: false, reason: `the sandbox helper does not know the system call numbers of '${process.arch}'` };
  const bwrap = findProgram('bwrap');
  const unshare = findProgram('unshare');
  const perl = findProgram('perl');
  const native = nativeHelper();
  const missing = [!bwrap && !native && 'bwrap (bubblewrap)', !unshare && 'unshare (util-linux)', !perl && !native && 'perl'].filter(Boolean);
  if (missing.length > 0) return { ok: false, reason: `the sandbox needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed` };
  if (!existsSync('/proc/self/ns/user')) {
    return { ok: false, reason: '/proc/self/ns/user does not exist; your kernel was likely built without CONFIG_USER_NS=y, which is required for sandboxing' };
  }
  if (readTrim('/proc/sys/user/max_user_namespaces') === '0') {
    return { ok: false, reason: 'user namespaces appear to be disabled; they are required for sandboxing; check /proc/sys/user/max_user_namespaces' };
  }
  const root = process.getuid?.() === 0;
  const tools: SandboxTools = { native, bwrap: bwrap ?? 'bwrap', unshare: unshare!, perl: perl ?? 'perl', syscalls, root };
  const key = storeDir === undefined ? undefined : probeKey(tools);
  if (key !== undefined && readTrim(probeFile(storeDir!)) === key) return { ok: true, tools };
  const args = root ? ['--user', '--mount', 'true'] : ['--user', '--map-root-user', '--mount', 'true'];
  const r = spawnSync(unshare!, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  if (r.status !== 0) {
    const why = r.stderr?.toString().trim() || r.error?.message || `exit status ${r.status}`;
    let reason = `cannot create a user namespace (${why})`;
    if (readTrim('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
      reason += '; user namespaces appear to be disabled; check /proc/sys/kernel/unprivileged_userns_clone';
    } else if (readTrim('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
      reason += '; AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)';
    }
    return { ok: false, reason };
  }
  if (key !== undefined) remember(storeDir!, key);
  return { ok: true, tools };
}

/**
 * A positive answer is remembered for the rest of this boot, next to the
 * store's sandbox mount points: the probe spawns a process (about 4 ms), which
 * every tix process that builds in the sandbox would pay. A sandbox that then
 * fails to set up forgets it.
 */
function probeFile(storeDir: string): string {
  return join(storeDir, '.tix-sandbox', `probe-${process.getuid?.() ?? 0}`);
}

function probeKey(t: SandboxTools): string | undefined {
  const boot = readTrim('/proc/sys/kernel/random/boot_id');
  return boot === undefined ? undefined : [boot, t.native ?? '-', t.bwrap, t.unshare, t.perl].join(' ');
}

function remember(storeDir: string, key: string): void {
  const f = probeFile(storeDir);
  const tmp = `${f}.${process.pid}`;
  try {
    writeFileSync(tmp, key + '\n');
    renameSync(tmp, f);
  } catch {
    /* no sandbox dir yet (the first build makes it), or not ours: probe again next time */
  }
}

/** The sandbox could not be set up: probe again in the next process. */
export function forgetProbe(storeDir: string): void {
  try {
    unlinkSync(probeFile(storeDir));
  } catch {
    /* nothing remembered */
  }
}

/** The message for an unavailable sandbox, saying what `sandbox-fallback` does. */
export function unavailableMessage(reason: string, fallback: boolean): string {
  return fallback
    ? `sandbox is not available: ${reason}; building without the sandbox because 'sandbox-fallback' is true (set 'sandbox-fallback = false' to make this an error)`
    : `sandbox is not available: ${reason}; not building without it because 'sandbox-fallback' is false (set 'sandbox = false' or 'sandbox-fallback = true' to build unsandboxed)`;
}

/**
 * The build sandbox (issue 7). The builder calls
 * `sandboxProvider.createSandbox(opts)` for a build with `sandbox = true` or
 * `relaxed`, then `spawn`, and `destroy` after the builder exited; recursive
 * Nix calls `addPath` for every path that joins a running build's allowed set.
 *
 *   const sb = await sandboxProvider.createSandbox({ drvPath, storeDir, buildDir,
 *     inputClosure, outputs, network: isFixedOutput, noChroot, settings, requiredSystemFeatures });
 *   const child = await sb.spawn({ builder, args, env, cwd: sb.buildDirInSandbox });
 *   await sb.addPath('/nix/store/…-injected');     // visible inside at once, read-only
 *   await child.exited; await sb.destroy();         // outputs now at sb.outputLocation(out)
 *
 * Mirrors Nix 2.8 `LocalDerivationGoal` (chroot builds, `addDependency`).
 */
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';
import { NixError, nixDirs } from '../../core/index.js';
import { SandboxErrorCode } from './errors.js';
import { sandboxAvailability, unavailableMessage } from './availability.js';
import { decideSandbox, sandboxBuildDir, sandboxFallback, sandboxPaths, type SandboxPath } from './settings.js';
import { acquireBuildUser, type BuildUser } from './build-user.js';
import { LinuxSandbox } from './linux.js';
import { sweepDeadChroots } from './leftovers.js';
import { prewarmHelper } from './helper-pool.js';
import { NoSandbox } from './none.js';
import type { Sandbox, SandboxOptions, SandboxProvider } from './types.js';

export type { Sandbox, SandboxOptions, SandboxProvider, SpawnRequest, BuilderProcess } from './types.js';
export { SandboxErrorCode } from './errors.js';
export { sandboxMode, sandboxPaths, sandboxFallback, sandboxBuildDir, decideSandbox, parseSandboxPath, DEFAULT_SANDBOX_PATHS } from './settings.js';
export type { SandboxMode, SandboxPath } from './settings.js';
export { sandboxAvailability, unavailableMessage, resetAvailability } from './availability.js';
export { acquireBuildUser } from './build-user.js';
export type { BuildUser } from './build-user.js';
export { NoSandbox } from './none.js';
export { sweepDeadChroots, resetSweep } from './leftovers.js';
export { idleHelperPid, dropIdleHelper } from './helper-pool.js';
export { passwdText, groupText, SANDBOX_UID, SANDBOX_GID } from './chroot-files.js';

/** Where warnings go (the fallback notice); the builder may replace it with its logger. */
export let sandboxWarn: (msg: string) => void = (msg) => process.stderr.write(`warning: ${msg}\n`);
export function setSandboxWarn(f: (msg: string) => void): void {
  sandboxWarn = f;
}

/** The store path (`<store>/<hash>-<name>`) a host path lies in, if any. */
function storePathOf(storeDir: string, p: string): string | undefined {
  if (!p.startsWith(storeDir + '/')) return undefined;
  const first = p.slice(storeDir.length + 1).split('/')[0]!;
  return /^[0-9a-z]{32}-/.test(first) ? `${storeDir}/${first}` : undefined;
}

/** `system-features`; 2.8's default adds `kvm` when /dev/kvm exists. */
function systemFeatures(settings: SandboxOptions['settings']): string[] {
  const def = ['nixos-test', 'benchmark', 'big-parallel'];
  if (existsSync('/dev/kvm')) def.push('kvm');
  return settings.getList('system-features', def);
}

/**
 * 2.8 (`startBuilder`): a `sandbox-paths` entry whose source lies in the store
 * brings the closure of its store path into the sandbox, each path at its own
 * location; an invalid path is skipped (the entry itself is still bound). The
 * entry needs no bind of its own when it names its own location and that is
 * now in the view.
 */
async function withSandboxPathClosures(opts: SandboxOptions, paths: readonly SandboxPath[]): Promise<{ closure: Set<string>; hostPaths: SandboxPath[] }> {
  const closure = new Set(opts.inputClosure);
  const hostPaths: SandboxPath[] = [];
  for (const p of paths) {
    const top = storePathOf(opts.storeDir, p.source);
    if (top === undefined) {
      hostPaths.push(p);
      continue;
    }
    // Without a store to ask (tests over a bare directory), an existing path counts as valid.
    const extra = opts.closureOf ? await opts.closureOf(top) : existsSync(top) ? [top] : undefined;
    if (extra !== undefined) for (const q of extra) closure.add(q);
    else if (p.source === top && existsSync(top)) closure.add(top); // invalid, but named as itself: 2.8 binds it there
    if (!(p.target === p.source && closure.has(top))) hostPaths.push(p);
  }
  return { closure, hostPaths };
}

async function buildUserFor(opts: SandboxOptions): Promise<BuildUser | undefined> {
  const group = opts.settings.getString('build-users-group', '').trim();
  if (group === '' || process.getuid?.() !== 0) return undefined;
  return acquireBuildUser({ group, stateDir: nixDirs().stateDir });
}

export async function createSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const drvPath = String(opts.drvPath);
  const drvName = basename(drvPath);
  const { useSandbox } = decideSandbox(opts.settings, drvPath.includes('/') ? drvPath : `${opts.storeDir}/${drvName}`, opts.noChroot, opts.network);
  if (!useSandbox) return new NoSandbox(opts.buildDir, await buildUserFor(opts));
  const avail = sandboxAvailability(opts.storeDir);
  if (!avail.ok) {
    const fallback = sandboxFallback(opts.settings);
    if (!fallback) throw new NixError(SandboxErrorCode.E_SANDBOX_UNAVAILABLE, unavailableMessage(avail.reason, false));
    sandboxWarn(unavailableMessage(avail.reason, true));
    return new NoSandbox(opts.buildDir, await buildUserFor(opts));
  }
  const paths = sandboxPaths(opts.settings);
  for (const p of paths) {
    if (!p.optional && !existsSync(p.source)) {
      throw new NixError(SandboxErrorCode.E_SANDBOX_PATH_MISSING, `getting attributes of path '${p.source}': No such file or directory`);
    }
  }
  const { closure, hostPaths } = await withSandboxPathClosures(opts, paths);
  sweepDeadChroots(opts.storeDir, join(opts.storeDir, '.tix-sandbox'));
  const buildUser = await buildUserFor(opts);
  try {
    return new LinuxSandbox({
      storeDir: opts.storeDir,
      id: drvName,
      buildDir: opts.buildDir,
      buildDirInSandbox: sandboxBuildDir(opts.settings),
      inputClosure: closure,
      outputs: opts.outputs.values(),
      network: opts.network,
      kvm: systemFeatures(opts.settings).includes('kvm'),
      sandboxPaths: hostPaths,
      tools: avail.tools,
      ...(buildUser ? { buildUser } : {}),
    });
  } catch (e) {
    buildUser?.release();
    throw e;
  }
}

export const sandboxProvider: SandboxProvider = { createSandbox };

/**
 * Start an idle sandbox helper ahead of any build (a warm process waiting
 * for its job), so even the process's first sandboxed build need not fork
 * one. Does nothing when the sandbox is unavailable or `TIX_SANDBOX_WARM=0`.
 */
export function prestartSandboxHelper(storeDir?: string): void {
  const avail = sandboxAvailability(storeDir);
  if (avail.ok) prewarmHelper(avail.tools);
}

/**
 * Sandbox settings (Nix 2.8 `globals.hh`: `sandbox`, `sandbox-paths`,
 * `extra-sandbox-paths`, `sandbox-fallback`, `sandbox-build-dir`) and the
 * decision whether one build is sandboxed (`LocalDerivationGoal::tryLocalBuild`).
 *
 * `sandbox-paths` entries are `target[=source][?]`: the host `source` appears
 * at `target`; a trailing `?` makes a missing source optional. tix's default is
 * `/bin/sh` (upstream Nix's `/bin/sh=<static shell>`; Debian's 2.8 ships an
 * empty default) so `builder = "/bin/sh"` derivations work out of the box.
 */
import { NixError, type Settings } from '../../core/index.js';
import { SandboxErrorCode } from './errors.js';

export type SandboxMode = 'true' | 'false' | 'relaxed';

export interface SandboxPath {
  /** Where it appears inside the sandbox. */
  target: string;
  /** Host path. */
  source: string;
  optional: boolean;
}

export const DEFAULT_SANDBOX_PATHS = ['/bin/sh'];

export function sandboxMode(settings: Settings): SandboxMode {
  const v = settings.getString('sandbox', 'true').trim();
  if (v === 'true' || v === '1' || v === 'yes') return 'true';
  if (v === 'false' || v === '0' || v === 'no' || v === '') return 'false';
  if (v === 'relaxed') return 'relaxed';
  throw new NixError(SandboxErrorCode.E_SANDBOX_SETTING, `option 'sandbox' has invalid value '${v}'`);
}

/** Parse one `sandbox-paths` word. */
export function parseSandboxPath(word: string): SandboxPath {
  let w = word;
  let optional = false;
  if (w.endsWith('?')) {
    optional = true;
    w = w.slice(0, -1);
  }
  const eq = w.indexOf('=');
  const target = eq < 0 ? w : w.slice(0, eq);
  const source = eq < 0 ? w : w.slice(eq + 1);
  if (!target.startsWith('/') || !source.startsWith('/')) {
    throw new NixError(SandboxErrorCode.E_SANDBOX_SETTING, `'sandbox-paths' entry '${word}' is not an absolute path`);
  }
  return { target: normalise(target), source, optional };
}

/** `sandbox-paths` plus `extra-sandbox-paths`; a later entry for the same target wins. */
export function sandboxPaths(settings: Settings): SandboxPath[] {
  const byTarget = new Map<string, SandboxPath>();
  for (const word of settings.getList('sandbox-paths', DEFAULT_SANDBOX_PATHS)) {
    if (word === '') continue;
    const p = parseSandboxPath(word);
    byTarget.set(p.target, p);
  }
  return [...byTarget.values()];
}

export function sandboxFallback(settings: Settings): boolean {
  return settings.getBool('sandbox-fallback', true);
}

/** Where the build dir appears inside the sandbox (`NIX_BUILD_TOP`). */
export function sandboxBuildDir(settings: Settings): string {
  return settings.getString('sandbox-build-dir', '/build');
}

export interface SandboxDecision {
  useSandbox: boolean;
}

/**
 * Whether a derivation builds in the sandbox. `__noChroot` is an error with
 * `sandbox = true` and opts out with `relaxed`. In relaxed mode only
 * "sandboxed" derivation types are chrooted, so fixed-output derivations run
 * unsandboxed (2.8 `useChroot = derivationType.isSandboxed() && !noChroot`).
 */
export function decideSandbox(settings: Settings, drvPath: string, noChroot: boolean, fixedOutput: boolean): SandboxDecision {
  const mode = sandboxMode(settings);
  if (mode === 'true') {
    if (noChroot) {
      throw new NixError(
        SandboxErrorCode.E_NO_CHROOT_FORBIDDEN,
        `derivation '${drvPath}' has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'`,
      );
    }
    return { useSandbox: true };
  }
  if (mode === 'false') return { useSandbox: false };
  return { useSandbox: !fixedOutput && !noChroot };
}

function normalise(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  return '/' + parts.join('/');
}

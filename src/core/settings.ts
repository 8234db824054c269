/**
 * Settings (libutil/config.cc): `nix.conf`, `NIX_CONFIG` and `--option`.
 *
 * Values are kept as strings and parsed at use, with the default given by the
 * caller, so each layer declares its own settings where it reads them and no
 * team edits a central table. `extra-<name>` appends to a list setting, as Nix does.
 * Reading files happens here (core may do IO); `formats` never sees settings.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NixError, CoreErrorCode } from './errors.js';
import { canonicalSettingName, isKnownSetting, settingValueError } from './known-settings.js';

export class Settings {
  private readonly values = new Map<string, string>();
  private readonly extras = new Map<string, string[]>();
  /** Names the user wrote that 2.8 does not know, not yet warned about. */
  private readonly unknown = new Set<string>();
  private unknownWarned = false;
  /** Warnings 2.8 prints as a value is set (unknown experimental features), not yet printed. */
  private readonly setWarnings: string[] = [];

  /**
   * Set a setting the user wrote (nix.conf, NIX_CONFIG, `--option`, a setting
   * flag), checking the value as 2.8 does when it is set: a bad value throws
   * `E_SETTING_INVALID` with 2.8's message and leaves the setting as it was.
   * Returns whether the name is known; the caller decides when an unknown
   * name counts (`noteUnknown`), as 2.8 warns only about some.
   */
  setUser(name: string, value: string): boolean {
    const bad = settingValueError(name, value);
    if (bad !== undefined) throw new NixError(CoreErrorCode.E_SETTING_INVALID, bad);
    if (name === 'experimental-features' || name === 'extra-experimental-features') {
      for (const f of new Set(splitWords(value))) {
        if (!KNOWN_EXPERIMENTAL_FEATURES.has(f)) this.setWarnings.push(`warning: unknown experimental feature '${f}'`);
      }
    }
    const known = isKnownSetting(name);
    // 2.8 ignores `extra-NAME` unless NAME is a list (`extra-max-jobs` must not add to max-jobs);
    // other unknown names are kept, as tix's CLI-only pseudo settings live in the same map.
    if (known || !name.startsWith('extra-')) this.set(canonicalSettingName(name), value);
    return known;
  }

  /** The warnings setting values gave (2.8 prints them at once); each is returned once. */
  takeSetWarnings(): string[] {
    return this.setWarnings.splice(0);
  }

  /** Record an unknown name for `takeUnknownWarnings` (ignored once they were taken, as 2.8 warns once). */
  noteUnknown(name: string): void {
    if (!this.unknownWarned) this.unknown.add(name);
  }

  /**
   * 2.8's `warning: unknown setting 'NAME'` lines, sorted by name, one per
   * name; only the first call returns any (2.8 warns once, when it reaches
   * the command line's first positional argument or its end).
   */
  takeUnknownWarnings(): string[] {
    if (this.unknownWarned) return [];
    this.unknownWarned = true;
    return [...this.unknown].sort().map((n) => `warning: unknown setting '${n}'`);
  }

  set(name: string, value: string): void {
    if (name.startsWith('extra-')) {
      const base = name.slice(6);
      const list = this.extras.get(base) ?? [];
      list.push(value);
      this.extras.set(base, list);
    } else {
      this.values.set(name, value);
      this.extras.delete(name);
    }
  }

  has(name: string): boolean {
    return this.values.has(name) || this.extras.has(name);
  }

  /** Raw string including `extra-` additions (space-joined). */
  getRaw(name: string): string | undefined {
    const base = this.values.get(name);
    const extra = this.extras.get(name);
    if (extra === undefined) return base;
    return [base ?? '', ...extra].filter((s) => s !== '').join(' ');
  }

  getString(name: string, def: string): string {
    return this.getRaw(name) ?? def;
  }

  getBool(name: string, def: boolean): boolean {
    const v = this.getRaw(name);
    if (v === undefined) return def;
    if (v === 'true' || v === '1' || v === 'yes') return true;
    if (v === 'false' || v === '0' || v === 'no' || v === '') return false;
    throw new NixError(CoreErrorCode.E_SETTING_INVALID, `Boolean setting '${name}' has invalid value '${v}'`);
  }

  getInt(name: string, def: number): number {
    const v = this.getRaw(name);
    if (v === undefined) return def;
    if (!/^-?\d+$/.test(v.trim())) {
      throw new NixError(CoreErrorCode.E_SETTING_INVALID, `configuration setting '${name}' should have an integer value, got '${v}'`);
    }
    return Number(v.trim());
  }

  /** Whitespace-separated list; `def` applies when unset and there are no extras. */
  getList(name: string, def: string[]): string[] {
    const base = this.values.get(name);
    const extra = this.extras.get(name) ?? [];
    const items = base === undefined ? [...def] : splitWords(base);
    for (const e of extra) items.push(...splitWords(e));
    return items;
  }

  /** Parse nix.conf text: `name = value`, `#` comments, `include`/`!include`. */
  loadText(text: string, origin: string, readInclude?: (p: string) => string | undefined): void {
    for (const rawLine of text.split('\n')) {
      const line = rawLine.replace(/#.*/, '').trim();
      if (line === '') continue;
      const inc = /^(!?)include\s+(.*)$/.exec(line);
      if (inc) {
        // Relative to the including file, as 2.8 resolves (and names) it.
        const path = inc[2]!.trim();
        const full = path.startsWith('/') || !origin.startsWith('/') ? path : join(dirname(origin), path);
        const content = readInclude?.(full);
        if (content === undefined && inc[1] !== '!') {
          throw new NixError(CoreErrorCode.E_SETTING_INVALID, `file '${full}' included from '${origin}' not found`);
        }
        if (content !== undefined) this.loadText(content, full, readInclude);
        continue;
      }
      const eq = line.indexOf('=');
      if (eq < 0) throw new NixError(CoreErrorCode.E_SETTING_INVALID, `illegal configuration line '${rawLine}' in '${origin}'`, { usage: true });
      const name = line.slice(0, eq).trim();
      // 2.8 stops at a bad value in a configuration file, with its usage hint.
      try {
        if (!this.setUser(name, line.slice(eq + 1).trim())) this.noteUnknown(name);
      } catch (e) {
        if (e instanceof NixError) throw new NixError(e.code, e.message, { usage: true });
        throw e;
      }
    }
  }

  experimentalFeatures(): Set<string> {
    return new Set(this.getList('experimental-features', []));
  }

  isExperimentalEnabled(feature: string): boolean {
    return this.experimentalFeatures().has(feature);
  }

  requireExperimental(feature: string): void {
    if (!this.isExperimentalEnabled(feature)) {
      throw new NixError(
        CoreErrorCode.E_EXPERIMENTAL_FEATURE,
        `experimental Nix feature '${feature}' is disabled; use '--extra-experimental-features ${feature}' to override`,
      );
    }
  }

  clone(): Settings {
    const s = new Settings();
    for (const [k, v] of this.values) s.values.set(k, v);
    for (const [k, v] of this.extras) s.extras.set(k, [...v]);
    return s;
  }

  entries(): [string, string][] {
    const names = new Set([...this.values.keys(), ...this.extras.keys()]);
    return [...names].sort().map((n) => [n, this.getRaw(n) ?? '']);
  }
}

/** The experimental features 2.8 knows (measured: others draw "unknown experimental feature"). */
const KNOWN_EXPERIMENTAL_FEATURES = new Set(['ca-derivations', 'impure-derivations', 'flakes', 'nix-command', 'recursive-nix', 'no-url-literals', 'fetch-closure']);

function splitWords(s: string): string[] {
  return s.split(/\s+/).filter((w) => w !== '');
}

/** The directories Nix uses, from the environment, with Nix's defaults. */
export interface NixDirs {
  storeDir: string;
  stateDir: string;
  logDir: string;
  confDir: string;
}

export function nixDirs(env: NodeJS.ProcessEnv = process.env): NixDirs {
  const stateDir = env.NIX_STATE_DIR || '/nix/var/nix';
  return {
    storeDir: stripSlash(env.NIX_STORE_DIR || env.NIX_STORE || '/nix/store'),
    stateDir,
    logDir: env.NIX_LOG_DIR || '/nix/var/log/nix',
    confDir: env.NIX_CONF_DIR || '/etc/nix',
  };
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function tryRead(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** Warnings the settings gave before loading them failed (2.8 prints them before the error). */
const warningsBeforeError = new WeakMap<object, string[]>();

export function settingWarningsBefore(e: unknown): string[] {
  return (typeof e === 'object' && e !== null && warningsBeforeError.get(e)) || [];
}

/** Load settings the way Nix does: `$NIX_CONF_DIR/nix.conf`, then `NIX_CONFIG`. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const s = new Settings();
  try {
    loadInto(s, env);
  } catch (e) {
    if (typeof e === 'object' && e !== null) warningsBeforeError.set(e, s.takeSetWarnings());
    throw e;
  }
  return s;
}

function loadInto(s: Settings, env: NodeJS.ProcessEnv): void {
  const dirs = nixDirs(env);
  const confFile = join(dirs.confDir, 'nix.conf');
  const text = tryRead(confFile);
  if (text !== undefined) s.loadText(text, confFile, (p) => tryRead(p.startsWith('/') ? p : join(dirs.confDir, p)));
  if (env.NIX_CONFIG) s.loadText(env.NIX_CONFIG, 'NIX_CONFIG');
}

/**
 * Flags every Nix command accepts (libmain/shared.cc `LegacyArgs`, libutil/args.cc):
 * `--option NAME VALUE`, any setting as `--NAME VALUE` / `--extra-NAME VALUE`,
 * boolean settings as `--NAME` / `--no-NAME`, and the short build flags.
 * Commands call `takeCommonFlags` first and parse what is left themselves.
 */
import { NixError, CoreErrorCode, SETTING_ALIASES, parseUnitFlagValue, settingType, type SettingType } from '../core/index.js';
import { Writable } from 'node:stream';
import type { CliContext } from './context.js';

/** A 2.8 `UsageError`: the error report adds "Try '<program> --help' for more information.". */
export function usageError(msg: string): NixError {
  return new NixError(CoreErrorCode.E_USAGE, msg, { usage: true });
}

/** A flag short of its arguments, in the words of 2.8's `Args` parser (`nix …`, and flags every command shares). */
export function missingFlagArgs(flag: string, n: number): NixError {
  return usageError(`flag '${flag}' requires ${n} argument(s)`);
}

/** A flag without its argument, in the words of 2.8's legacy commands (`getArg`: nix-build, nix-store, …). */
export function missingArg(flag: string): NixError {
  return usageError(`'${flag}' requires an argument`);
}

/** Common flags that map onto a setting and take one argument. */
const SETTING_FLAGS: Record<string, string> = {
  '--max-jobs': 'max-jobs', '-j': 'max-jobs',
  '--cores': 'cores',
  '--max-silent-time': 'max-silent-time',
  '--timeout': 'timeout',
  '--store': 'store',
  '--log-format': 'log-format',
  '--builders': 'builders',
  '--eval-store': 'eval-store',
};

/** Common boolean flags → (setting, value). */
const BOOL_FLAGS: Record<string, [string, string]> = {
  '--keep-failed': ['keep-failed', 'true'], '-K': ['keep-failed', 'true'],
  '--keep-going': ['keep-going', 'true'], '-k': ['keep-going', 'true'],
  '--fallback': ['fallback', 'true'],
  '--show-trace': ['show-trace', 'true'],
  // 2.8: `-L` selects the bar-with-logs format, so the later of `-L` and `--log-format` wins.
  '--print-build-logs': ['log-format', 'bar-with-logs'], '-L': ['log-format', 'bar-with-logs'],
  '--quiet': ['quiet', 'true'], '-Q': ['no-build-output', 'true'], '--no-build-output': ['no-build-output', 'true'],
  '--impure': ['impure', 'true'],
  '--readonly-mode': ['readonly-mode', 'true'],
  '--sandbox': ['sandbox', 'true'], '--no-sandbox': ['sandbox', 'false'],
  '--offline': ['offline', 'true'],
  '--refresh': ['refresh', 'true'],
};

/**
 * How many arguments the common flag `a` takes: 0 when it takes none or is
 * not a common flag. Lets a caller that only scans the arguments (nix-store's
 * operation search) step over a flag's values as 2.8's parser does.
 */
export function commonFlagArity(a: string, knownSettings: ReadonlySet<string> = new Set()): number {
  if (a === '--option') return 2;
  if (SETTING_FLAGS[a] !== undefined) return 1;
  if (BOOL_FLAGS[a] !== undefined) return 0;
  if (a === '--extra-experimental-features' || a === '--experimental-features') return 1;
  if (a.startsWith('--extra-') && (knownSettings.has(a.slice(8)) || flagSettingType(a.slice(8)) === 'list')) return 1;
  if (!a.startsWith('--')) return 0;
  const type = flagSettingType(a.slice(2));
  return knownSettings.has(a.slice(2)) || (type !== undefined && type !== 'bool' && type !== 'sandbox') ? 1 : 0;
}

/**
 * The type of a setting that 2.8 takes as a flag by its name (`--log-lines N`,
 * `--pure-eval`): the settings themselves, not their deprecated aliases.
 */
function flagSettingType(name: string): SettingType | undefined {
  return SETTING_ALIASES.has(name) ? undefined : settingType(name);
}

/** 2.8's flags for Boolean settings, `--NAME` and `--no-NAME`, and `--relaxed-sandbox`. */
function boolSettingFlag(a: string): [string, string] | undefined {
  if (a === '--relaxed-sandbox') return ['sandbox', 'relaxed'];
  if (!a.startsWith('--')) return undefined;
  const name = a.slice(2);
  if (flagSettingType(name) === 'bool') return [name, 'true'];
  if (name.startsWith('no-') && flagSettingType(name.slice(3)) === 'bool') return [name.slice(3), 'false'];
  return undefined;
}

export interface CommonFlags {
  /** Arguments not consumed, in order. */
  rest: string[];
  verbosity: number;
  /**
   * Setting names given on the command line that 2.8 does not know, each
   * with how many `rest` arguments came before it: 2.8 warns only about those
   * given before the first positional argument (`warnUnknownSettings`).
   */
  unknownSettings: [name: string, restIndex: number][];
  /** With `defer`: what the setting flags report, in order, for `reachArg`; else empty. */
  events: SettingEvent[];
}

/** A bad value for a setting flag (`-j x`, `--cores x`) is a usage error, as in 2.8. */
function setFromFlag(ctx: CliContext, name: string, value: string): boolean {
  try {
    return setAndWarn(ctx, name, value);
  } catch (e) {
    if (e instanceof NixError) throw usageError(e.message);
    throw e;
  }
}

/** Set, printing the warnings 2.8 prints as the value is set (unknown experimental features). */
function setAndWarn(ctx: CliContext, name: string, value: string): boolean {
  try {
    return ctx.settings.setUser(name, value);
  } finally {
    for (const w of ctx.settings.takeSetWarnings()) ctx.stderr.write(w + '\n');
  }
}

/**
 * The legacy commands' `--cores`, `--timeout`, `--max-silent-time`: a number with an
 * optional K/M/G/T suffix. `nix` takes them as plain setting flags (2.8).
 */
const UNIT_FLAGS = new Set(['--cores', '--timeout', '--max-silent-time']);
/** tix's CLI-only pseudo settings set by flags (never checked: the user did not name a setting). */
const PSEUDO_SETTING_FLAGS = new Set(['--log-format', '--eval-store']);

/**
 * Apply the setting flag at `args[i]` (`--option`, `-j`, `--cores`, the
 * boolean flags, …) to `ctx.settings`, checking values as 2.8 does when it
 * sets them: `--option NAME BAD` warns `warning: error: …` and goes on; a bad
 * value given to a setting flag is a usage error. Returns how many arguments
 * it took (0: not a setting flag) and the name when 2.8 does not know it.
 */
export function applySettingFlag(args: string[], i: number, ctx: CliContext, knownSettings: ReadonlySet<string> = new Set()): { taken: number; unknown?: string } {
  const a = args[i]!;
  const n = commonFlagArity(a, knownSettings);
  const bool = BOOL_FLAGS[a] ?? boolSettingFlag(a);
  if (n === 0 && bool === undefined) return { taken: 0 };
  if (i + n >= args.length) throw missingFlagArgs(a, n);
  if (a === '--option') {
    const name = args[i + 1]!;
    try {
      return { taken: 3, unknown: setAndWarn(ctx, name, args[i + 2]!) ? undefined : name };
    } catch (e) {
      if (!(e instanceof NixError)) throw e;
      ctx.stderr.write(`warning: error: ${e.message}\n`);
      return { taken: 3 };
    }
  }
  if (n === 0) {
    const [name, value] = bool!;
    ctx.settings.set(name, value);
    return { taken: 1 };
  }
  const value = args[i + 1]!;
  if (PSEUDO_SETTING_FLAGS.has(a)) {
    ctx.settings.set(SETTING_FLAGS[a]!, value);
  } else if (UNIT_FLAGS.has(a) && ctx.programName !== 'nix') {
    const r = parseUnitFlagValue(value);
    if ('error' in r) throw usageError(r.error);
    setFromFlag(ctx, SETTING_FLAGS[a]!, r.value);
  } else {
    // `--max-jobs` and friends by their setting's name; `--NAME`, `--extra-NAME` as written.
    setFromFlag(ctx, SETTING_FLAGS[a] ?? a.slice(2), value);
  }
  return { taken: 2 };
}

/**
 * Consume common flags, applying them to `ctx.settings`. `knownSettings`, when
 * given, lets `--<name> value` set any setting by name as Nix allows.
 */
export function takeCommonFlags(args: string[], ctx: CliContext, knownSettings: ReadonlySet<string> = new Set(), opts: { defer?: boolean } = {}): CommonFlags {
  const rest: string[] = [];
  const unknownSettings: [string, number][] = [];
  const events: SettingEvent[] = [];
  // Deferred, what a setting flag prints or throws waits for `reachArg` at its place among `rest`.
  const flagCtx: CliContext = !opts.defer ? ctx : {
    ...ctx,
    stderr: new Writable({ write: (c, _e, cb) => { events.push({ at: rest.length, warning: String(c) }); cb(); } }),
  };
  let verbosity = 3;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    let applied: { taken: number; unknown?: string };
    try {
      applied = applySettingFlag(args, i, flagCtx, knownSettings);
    } catch (e) {
      if (!opts.defer || !(e instanceof NixError)) throw e;
      events.push({ at: rest.length, error: e }); // 2.8 stops parsing there
      break;
    }
    if (applied.taken > 0) {
      if (applied.unknown !== undefined) unknownSettings.push([applied.unknown, rest.length]);
      i += applied.taken - 1;
    } else if (a === '-v' || a === '--verbose') {
      verbosity++;
    } else if (/^-v+$/.test(a)) {
      verbosity += a.length - 1;
    } else {
      rest.push(a);
    }
  }
  return { rest, verbosity, unknownSettings, events };
}

/** A deferred report of a setting flag: a warning to print or an error to throw. */
export interface SettingEvent {
  at: number;
  warning?: string;
  error?: NixError;
}

/**
 * For commands that parse `rest` themselves after `takeCommonFlags(…, { defer: true })`:
 * call before handling `rest[i]`, so the setting flags given before it report
 * (`warning: error: …`, a bad value's usage error) in 2.8's order among the
 * command's own parse errors and the unknown-setting warning.
 */
export function reachArg(ctx: CliContext, common: CommonFlags, i: number): void {
  while (common.events.length > 0 && common.events[0]!.at <= i) {
    const ev = common.events.shift()!;
    if (ev.error !== undefined) throw ev.error;
    ctx.stderr.write(ev.warning!);
  }
}

/**
 * Print 2.8's `warning: unknown setting 'NAME'` lines (once per command):
 * for the names from nix.conf/NIX_CONFIG and, when `common` is given, those
 * of its command line that came before `rest[upTo]` (2.8 warns when it
 * reaches the first positional argument, or the end of the command line).
 * Call it there; later calls print nothing.
 */
export function warnUnknownSettings(ctx: CliContext, common?: CommonFlags, upTo = Infinity): void {
  if (common !== undefined) reachArg(ctx, common, upTo);
  for (const [name, at] of common?.unknownSettings ?? []) if (at <= upTo) ctx.settings.noteUnknown(name);
  for (const line of ctx.settings.takeUnknownWarnings()) ctx.stderr.write(line + '\n');
}

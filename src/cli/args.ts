/**
 * Flags every Nix command accepts (libmain/shared.cc `LegacyArgs`, libutil/args.cc):
 * `--option NAME VALUE`, any setting as `--NAME VALUE` / `--extra-NAME VALUE`,
 * boolean settings as `--NAME` / `--no-NAME`, and the short build flags.
 * Commands call `takeCommonFlags` first and parse what is left themselves.
 */
import { NixError, CoreErrorCode } from '../core/index.js';
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
  if (a.startsWith('--extra-') && knownSettings.has(a.slice(8))) return 1;
  return a.startsWith('--') && knownSettings.has(a.slice(2)) ? 1 : 0;
}

export interface CommonFlags {
  /** Arguments not consumed, in order. */
  rest: string[];
  verbosity: number;
}

/**
 * Consume common flags, applying them to `ctx.settings`. `knownSettings`, when
 * given, lets `--<name> value` set any setting by name as Nix allows.
 */
export function takeCommonFlags(args: string[], ctx: CliContext, knownSettings: ReadonlySet<string> = new Set()): CommonFlags {
  const rest: string[] = [];
  let verbosity = 3;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const need = (n: number): string[] => {
      if (i + n >= args.length) throw missingFlagArgs(a, n);
      const v = args.slice(i + 1, i + 1 + n);
      i += n;
      return v;
    };
    const arity = commonFlagArity(a, knownSettings);
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    } else if (a === '--option') {
      const [name, value] = need(2);
      ctx.settings.set(name!, value!);
    } else if (arity > 0) {
      // `--max-jobs` and friends by their setting's name; `--NAME`, `--extra-NAME` as written.
      ctx.settings.set(SETTING_FLAGS[a] ?? a.slice(2), need(1)[0]!);
    } else if (BOOL_FLAGS[a] !== undefined) {
      const [name, value] = BOOL_FLAGS[a]!;
      ctx.settings.set(name, value);
    } else if (a === '-v' || a === '--verbose') {
      verbosity++;
    } else if (/^-v+$/.test(a)) {
      verbosity += a.length - 1;
    } else {
      rest.push(a);
    }
  }
  return { rest, verbosity };
}

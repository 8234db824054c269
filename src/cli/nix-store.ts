/**
 * `nix-store`: finds the operation flag (Nix allows it anywhere among the
 * arguments) and hands every other argument, in order, to that operation's module.
 * Each operation lives in `cli/nix-store/<op>.ts` and exports `run(args, ctx)`.
 */
import { NixError, CoreErrorCode } from '../core/index.js';
import type { CliContext } from './context.js';
import { applySettingFlag, commonFlagArity, missingArg, missingFlagArgs, warnUnknownSettings } from './args.js';
import { runModule } from './dispatch.js';

/** Operation flag → module. Aliases map to the same module. */
const OPS: Record<string, string> = {
  '--realise': './nix-store/realise.js', '-r': './nix-store/realise.js',
  '--add': './nix-store/add.js', '-A': './nix-store/add.js',
  '--add-fixed': './nix-store/add-fixed.js',
  '--delete': './nix-store/delete.js',
  '--query': './nix-store/query.js', '-q': './nix-store/query.js',
  '--read-log': './nix-store/read-log.js', '-l': './nix-store/read-log.js',
  '--dump-db': './nix-store/dump-db.js',
  '--load-db': './nix-store/load-db.js',
  '--register-validity': './nix-store/register-validity.js',
  '--check-validity': './nix-store/check-validity.js',
  '--gc': './nix-store/gc.js',
  '--dump': './nix-store/dump.js',
  '--restore': './nix-store/restore.js',
  '--export': './nix-store/export.js',
  '--import': './nix-store/import.js',
  '--init': './nix-store/init.js',
  '--verify': './nix-store/verify.js',
  '--verify-path': './nix-store/verify-path.js',
  '--repair-path': './nix-store/repair-path.js',
  '--optimise': './nix-store/optimise.js', '--optimize': './nix-store/optimise.js',
  '--serve': './nix-store/serve.js',
  '--generate-binary-cache-key': './nix-store/generate-binary-cache-key.js',
  '--print-fixed-path': './nix-store/print-fixed-path.js',
  '--version': './nix-store/version.js',
  '--print-env': './nix-store/print-env.js',
};

/** Nix's `-qR` → `-q -R` and `-j3` → `-j 3` expansion (libmain/shared.cc). */
function expandCompound(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a.length > 2 && a[0] === '-' && a[1] !== '-' && /[A-Za-z]/.test(a[1]!)) {
      out.push('-' + a[1]);
      for (let j = 2; j < a.length; j++) {
        if (/[A-Za-z]/.test(a[j]!)) out.push('-' + a[j]);
        else {
          out.push(a.slice(j));
          break;
        }
      }
    } else out.push(a);
  }
  return out;
}

/**
 * nix-store's own flags that take an argument wherever they appear (2.8's
 * `getArg`), whatever the operation.
 */
const ARG_FLAGS = new Set(['--add-root', '--max-freed', '--max-links', '--max-atime']);

function usage(ctx: CliContext): number {
  ctx.stdout.write('Usage: nix-store OPERATION [OPTIONS...] [ARGUMENTS...]\n');
  return 0;
}

export async function run(argsIn: string[], ctx: CliContext): Promise<number> {
  const args = expandCompound(argsIn);
  let op: string | undefined;
  const rest: string[] = [];
  let positional = false;
  // In order, as 2.8 parses: a flag's values are never an operation (`--store -q`
  // has none), and a flag at the end without them is the error, operation or not.
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      // 2.8 still reads `--help` after `--`; the rest goes to the operation as it is.
      if (args.includes('--help', i)) return usage(ctx);
      rest.push(...args.slice(i));
      break;
    } else if (a === '--help') {
      return usage(ctx);
    } else if (OPS[a] !== undefined && (op === undefined || OPS[op] === OPS[a])) {
      // Nix allows `-q` to appear once as the op; a later `-r` after `-q` is a query flag (--requisites).
      if (op === undefined) op = a;
      else rest.push(a);
    } else {
      const n = ARG_FLAGS.has(a) ? 1 : commonFlagArity(a);
      if (i + n >= args.length) throw ARG_FLAGS.has(a) ? missingArg(a) : missingFlagArgs(a, n);
      // Settings before the first positional argument are applied here, in order, so that
      // 2.8's unknown-setting warning (printed on reaching that argument) can name them;
      // the operation's own parse applies the later ones.
      const applied = positional || ARG_FLAGS.has(a) ? { taken: 0 } : applySettingFlag(args, i, ctx);
      if (applied.taken > 0) {
        if (applied.unknown !== undefined) ctx.settings.noteUnknown(applied.unknown);
        i += applied.taken - 1;
        continue;
      }
      if (!a.startsWith('-') && !positional) {
        positional = true;
        warnUnknownSettings(ctx);
      }
      rest.push(...args.slice(i, i + 1 + n));
      i += n;
    }
  }
  warnUnknownSettings(ctx);
  if (op === undefined) {
    throw new NixError(CoreErrorCode.E_USAGE, "no operation specified", { hint: "Try 'nix-store --help' for more information." });
  }
  return runModule(OPS[op]!, `nix-store ${op}`, rest, ctx);
}

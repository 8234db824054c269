/**
 * `nix-store`: finds the operation flag (Nix allows it anywhere among the
 * arguments) and hands every other argument, in order, to that operation's module.
 * Each operation lives in `cli/nix-store/<op>.ts` and exports `run(args, ctx)`.
 */
import { NixError, CoreErrorCode } from '../core/index.js';
import type { CliContext } from './context.js';
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

export async function run(argsIn: string[], ctx: CliContext): Promise<number> {
  const args = expandCompound(argsIn);
  let op: string | undefined;
  const rest: string[] = [];
  let afterDashDash = false;
  for (const a of args) {
    if (!afterDashDash && a === '--') {
      afterDashDash = true;
      rest.push(a);
    } else if (!afterDashDash && OPS[a] !== undefined && (op === undefined || OPS[op] === OPS[a])) {
      // Nix allows `-q` to appear once as the op; a later `-r` after `-q` is a query flag (--requisites).
      if (op === undefined) op = a;
      else rest.push(a);
    } else {
      rest.push(a);
    }
  }
  if (args.includes('--help')) {
    ctx.stdout.write('Usage: nix-store OPERATION [OPTIONS...] [ARGUMENTS...]\n');
    return 0;
  }
  if (op === undefined) {
    throw new NixError(CoreErrorCode.E_USAGE, "no operation specified", { hint: "Try 'nix-store --help' for more information." });
  }
  return runModule(OPS[op]!, `nix-store ${op}`, rest, ctx);
}

/**
 * `nix eval` (Nix 2.8 src/nix/eval.cc) without flakes: the value of
 * `--expr E` or `--file F`, optionally selected by an installable attribute
 * path, printed deep-forced (`--json`, `--raw` without a newline). Pure
 * evaluation unless `--impure` (no `getEnv`, no `currentSystem`, …).
 */
import { resolve } from 'node:path';
import { baseJob, bytes, emptyEvalArgs, takeEvalFlag, type EvalJob } from '../../glue/index.js';
import { runEvalJobAndPrint } from '../eval-output.js';
import { missingFlagArgs, takeCommonFlags, usageError } from '../args.js';
import type { CliContext } from '../context.js';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const args = argv[0] === 'eval' ? argv.slice(1) : argv;
  const { rest } = takeCommonFlags(args, ctx);
  const ea = emptyEvalArgs();
  let expr: string | undefined;
  let file: string | undefined;
  let output: EvalJob['output'] = 'plain';
  let apply: string | undefined;
  const installables: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const n = takeEvalFlag(rest, i, ea);
    if (n > 0) {
      i += n - 1;
      continue;
    }
    const arg = (): string | undefined => (i + 1 < rest.length ? rest[++i] : undefined);
    if (a === '--expr') {
      expr = arg();
      if (expr === undefined) throw missingFlagArgs('--expr', 1);
    } else if (a === '--file' || a === '-f') {
      file = arg();
      if (file === undefined) throw missingFlagArgs(a, 1);
    } else if (a === '--json') output = 'json';
    else if (a === '--raw') output = 'raw';
    else if (a === '--apply') {
      apply = arg();
      if (apply === undefined) throw missingFlagArgs('--apply', 1);
    } else if (a === '--read-only' || a === '--no-write-lock-file' || a === '--offline') { /* accepted */ }
    else if (a.startsWith('-') && a !== '-') throw usageError(`unrecognised flag '${a}'`);
    else installables.push(a);
  }
  if (expr !== undefined && file !== undefined) throw usageError("'--file' and '--expr' are exclusive");
  if (expr === undefined && file === undefined) {
    ctx.stderr.write(installables.length === 0
      ? 'error: could not find a flake.nix file\n'
      : "error: experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override\n");
    return 1;
  }
  if (installables.length > 1) throw usageError(`'nix eval' takes exactly one installable (got ${installables.length})`);
  const job = baseJob({ settings: ctx.settings, env: ctx.env, storeDir: ctx.dirs.storeDir, programName: ctx.programName }, ea);
  job.mode = 'nix-eval';
  job.output = output;
  // Nix 2.8 evaluates `--file` impurely; only `--expr` (and flakes) are pure by default.
  job.pureEval = expr !== undefined && !ea.impure && !ctx.settings.getBool('impure', false) && ctx.settings.getBool('pure-eval', true);
  job.attrPaths = [bytes(installables[0] ?? '')];
  job.inputs = [expr !== undefined ? { kind: 'expr', text: bytes(expr) } : { kind: 'file', path: bytes(resolve(file!)) }];
  if (apply !== undefined) job.apply = bytes(apply);
  return runEvalJobAndPrint(job, ctx, { newCli: true, verbosity: 3 });
}

/**
 * `nix eval` (Nix 2.8 src/nix/eval.cc) without flakes: the value of
 * `--expr E` or `--file F`, optionally selected by an installable attribute
 * path, printed deep-forced (`--json`, `--raw` without a newline). Pure
 * evaluation unless `--impure` (no `getEnv`, no `currentSystem`, …).
 */
import { resolve } from 'node:path';
import { baseJob, bytes, emptyEvalArgs, openStore, runEvalJobInWorker, takeEvalFlag, type EvalJob } from '../../glue/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';

function usage(ctx: CliContext, msg: string): number {
  ctx.stderr.write(`error: ${msg}\nTry 'nix --help' for more information.\n`);
  return 1;
}

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
    let n: number;
    try {
      n = takeEvalFlag(rest, i, ea);
    } catch (e) {
      return usage(ctx, (e as Error).message);
    }
    if (n > 0) {
      i += n - 1;
      continue;
    }
    const arg = (): string | undefined => (i + 1 < rest.length ? rest[++i] : undefined);
    if (a === '--expr') {
      expr = arg();
      if (expr === undefined) return usage(ctx, "flag '--expr' requires 1 argument");
    } else if (a === '--file' || a === '-f') {
      file = arg();
      if (file === undefined) return usage(ctx, `flag '${a}' requires 1 argument`);
    } else if (a === '--json') output = 'json';
    else if (a === '--raw') output = 'raw';
    else if (a === '--apply') {
      apply = arg();
      if (apply === undefined) return usage(ctx, "flag '--apply' requires 1 argument");
    } else if (a === '--read-only' || a === '--no-write-lock-file' || a === '--offline') { /* accepted */ }
    else if (a.startsWith('-') && a !== '-') return usage(ctx, `unrecognised flag '${a}'`);
    else installables.push(a);
  }
  if (expr !== undefined && file !== undefined) return usage(ctx, "'--file' and '--expr' are exclusive");
  if (expr === undefined && file === undefined) {
    ctx.stderr.write(installables.length === 0
      ? 'error: could not find a flake.nix file\n'
      : "error: experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override\n");
    return 1;
  }
  if (installables.length > 1) return usage(ctx, `'nix eval' takes exactly one installable (got ${installables.length})`);
  const job = baseJob({ settings: ctx.settings, env: ctx.env, storeDir: ctx.dirs.storeDir }, ea);
  job.mode = 'nix-eval';
  job.output = output;
  // Nix 2.8 evaluates `--file` impurely; only `--expr` (and flakes) are pure by default.
  job.pureEval = expr !== undefined && !ea.impure && !ctx.settings.getBool('impure', false) && ctx.settings.getBool('pure-eval', true);
  job.attrPaths = [bytes(installables[0] ?? '')];
  job.inputs = [expr !== undefined ? { kind: 'expr', text: bytes(expr) } : { kind: 'file', path: bytes(resolve(file!)) }];
  if (apply !== undefined) job.apply = bytes(apply);
  const res = await runEvalJobInWorker(job, {
    openStore: () => openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env }),
  });
  // Traces and warnings come before the result in Nix; an error comes after any partial output.
  if (res.status === 0 && res.stderr !== '') ctx.stderr.write(Buffer.from(res.stderr, 'latin1'));
  if (res.stdout.length > 0) ctx.stdout.write(Buffer.from(res.stdout));
  if (res.status !== 0 && res.stderr !== '') ctx.stderr.write(Buffer.from(res.stderr, 'latin1'));
  return res.status;
}

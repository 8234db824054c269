/**
 * `nix-instantiate` (Nix 2.8 nix-instantiate.cc): evaluate expressions
 * (`--eval [--strict] [--json|--xml]`), print `.drv` paths of the
 * derivations they produce (writing the `.drv`s), `--parse`, `--find-file`.
 * The evaluation itself runs in glue (worker thread); this file maps argv.
 */
import { baseJob, bytes, emptyEvalArgs, takeEvalFlag, type EvalJob } from '../glue/index.js';
import { runEvalJobAndPrint } from './eval-output.js';
import { resolve } from 'node:path';
import { missingArg, reachArg, takeCommonFlags, usageError, warnUnknownSettings } from './args.js';
import type { CliContext } from './context.js';

function readStdin(ctx: CliContext): Promise<string> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    ctx.stdin.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    ctx.stdin.on('end', () => res(Buffer.concat(chunks).toString('latin1')));
    ctx.stdin.on('error', rej);
  });
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const common = takeCommonFlags(argv, ctx, undefined, { defer: true });
  const rest = common.rest;
  const ea = emptyEvalArgs();
  const files: string[] = [];
  const attrPaths: string[] = [];
  let readStdinFlag = false, fromArgs = false, findFile = false, evalOnly = false, parseOnly = false;
  let output: EvalJob['output'] = 'plain', location = true, strict = false, readWrite = false, dryRun = false;
  let gcRoot: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    reachArg(ctx, common, i);
    const n = takeEvalFlag(rest, i, ea);
    if (n > 0) { i += n - 1; continue; }
    const arg = () => {
      if (i + 1 >= rest.length) throw missingArg(a);
      return rest[++i]!;
    };
    if (a === '--version') { ctx.stdout.write('nix-instantiate (Nix) 2.8.0\n'); return 0; }
    else if (a === '-') readStdinFlag = true;
    else if (a === '--expr' || a === '-E') fromArgs = true;
    else if (a === '--eval' || a === '--eval-only') evalOnly = true;
    else if (a === '--read-write-mode') readWrite = true;
    else if (a === '--parse' || a === '--parse-only') parseOnly = evalOnly = true;
    else if (a === '--find-file') findFile = true;
    else if (a === '--attr' || a === '-A') attrPaths.push(arg());
    else if (a === '--add-root') gcRoot = arg();
    else if (a === '--indirect' || a === '--repair') { /* accepted */ }
    else if (a === '--xml') output = 'xml';
    else if (a === '--json') output = 'json';
    else if (a === '--no-location') location = false;
    else if (a === '--strict') strict = true;
    else if (a === '--dry-run') dryRun = true;
    else if (a !== '' && a.startsWith('-')) throw usageError(`unrecognised flag '${a}'`);
    else {
      warnUnknownSettings(ctx, common, i); // 2.8 warns at the first positional argument
      files.push(a);
    }
  }
  warnUnknownSettings(ctx, common);
  const job = baseJob({ settings: ctx.settings, env: ctx.env, storeDir: ctx.dirs.storeDir, programName: ctx.programName }, ea);
  job.mode = findFile ? 'find-file' : parseOnly ? 'parse' : evalOnly ? 'eval' : 'instantiate';
  job.output = output;
  job.location = location;
  job.strict = strict;
  job.readWrite = evalOnly ? readWrite : !dryRun;
  if (gcRoot !== undefined) job.gcRoot = bytes(gcRoot);
  if (attrPaths.length > 0) job.attrPaths = attrPaths.map(bytes);
  if (findFile) job.inputs = files.map((f) => ({ kind: 'file', path: bytes(f) }));
  else {
    if (readStdinFlag) job.inputs.push({ kind: 'stdin', text: await readStdin(ctx) });
    else if (files.length === 0 && !fromArgs) files.push('./default.nix');
    for (const f of files) {
      if (fromArgs) job.inputs.push({ kind: 'expr', text: bytes(f) });
      else job.inputs.push({ kind: 'file', path: lookupFileArg(f) });
    }
  }
  return runEvalJobAndPrint(job, ctx);
}

/** 2.8 `lookupFileArg`: `<p>` stays a search-path lookup, else an absolute path. */
function lookupFileArg(f: string): string {
  if (f.startsWith('<') && f.endsWith('>')) return bytes(f);
  return bytes(resolve(process.cwd(), f));
}

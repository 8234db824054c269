/**
 * Run one evaluation job (glue, on the worker thread when it needs one) and
 * write its result: shared by `nix-instantiate` and `nix eval`.
 */
import { openStore, runEvalJobInWorker, type EvalJob } from '../glue/index.js';
import type { CliContext } from './context.js';

export async function runEvalJobAndPrint(job: EvalJob, ctx: CliContext): Promise<number> {
  const res = await runEvalJobInWorker(job, {
    openStore: () => openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env }),
  });
  // Traces and warnings come before the result in Nix; an error comes after any partial output.
  if (res.status === 0 && res.stderr !== '') ctx.stderr.write(Buffer.from(res.stderr, 'latin1'));
  if (res.stdout.length > 0) ctx.stdout.write(Buffer.from(res.stdout));
  if (res.status !== 0 && res.stderr !== '') ctx.stderr.write(Buffer.from(res.stderr, 'latin1'));
  return res.status;
}

/**
 * Run one evaluation job (glue, on the worker thread when it needs one) and
 * write its result: shared by `nix-instantiate` and `nix eval`.
 */
import { runEvalJobInWorker, type EvalJob } from '../glue/index.js';
import type { CliContext } from './context.js';
import { openBuildSession, type BuildSession, type SessionOptions } from './progress-build.js';

/** `session`: how builds the evaluation needs (import-from-derivation) show their progress. */
export async function runEvalJobAndPrint(job: EvalJob, ctx: CliContext, session: SessionOptions = { newCli: false, verbosity: 3 }): Promise<number> {
  let opened: BuildSession | undefined;
  let res;
  try {
    res = await runEvalJobInWorker(job, {
      openStore: async () => (opened = await openBuildSession(ctx, session)).store,
    });
  } finally {
    // The evaluation closed the store it opened; only the session's logger is left.
    opened?.logger.stop();
  }
  // Traces and warnings come before the result in Nix; an error comes after any partial output.
  if (res.status === 0 && res.stderr !== '') ctx.stderr.write(Buffer.from(res.stderr, 'latin1'));
  if (res.stdout.length > 0) ctx.stdout.write(Buffer.from(res.stdout));
  if (res.status !== 0 && res.stderr !== '') ctx.stderr.write(Buffer.from(res.stderr, 'latin1'));
  return res.status;
}

/** `nix-store --dump PATH` (nix-store.cc `opDump`): the NAR of any path on stdout. */
import { NixError, CoreErrorCode } from '../../core/index.js';
import { dumpPath } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';

function usage(msg: string): NixError {
  return new NixError(CoreErrorCode.E_USAGE, msg, { hint: "Try 'nix-store --help' for more information." });
}

/** Write with back-pressure so a 1 GiB NAR never queues up in memory. */
export async function writeAll(out: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const rest = takeCommonFlags(args, ctx).rest.filter((a) => a !== '--');
  const flags = rest.filter((a) => a.startsWith('-'));
  const paths = rest.filter((a) => !a.startsWith('-'));
  if (flags.length !== 0 || paths.length !== 1) throw usage('only one argument allowed');
  for await (const chunk of dumpPath(paths[0]!)) await writeAll(ctx.stdout, chunk);
  return 0;
}

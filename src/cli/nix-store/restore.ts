/**
 * `nix-store --restore DIR` (nix-store.cc `opRestore`): unpack a NAR read
 * from stdin. Like 2.8, reading stops at the end of the archive.
 */
import { NixError, CoreErrorCode } from '../../core/index.js';
import { restorePath } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const rest = takeCommonFlags(args, ctx).rest.filter((a) => a !== '--');
  const flags = rest.filter((a) => a.startsWith('-'));
  const paths = rest.filter((a) => !a.startsWith('-'));
  if (flags.length !== 0 || paths.length !== 1) {
    throw new NixError(CoreErrorCode.E_USAGE, 'only one argument allowed', { hint: "Try 'nix-store --help' for more information." });
  }
  await restorePath(paths[0]!, ctx.stdin as unknown as AsyncIterable<Uint8Array>);
  return 0;
}

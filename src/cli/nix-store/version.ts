/**
 * `nix-store --version` (libmain `printVersion`): Nix prints
 * `nix-store (Nix) 2.8.0`; tix names itself and keeps the version it
 * implements, as `nix --version` does (docs/deviations.md).
 */
import type { CliContext } from '../context.js';

export async function run(_args: string[], ctx: CliContext): Promise<number> {
  ctx.stdout.write('nix-store (tix) 2.8.0\n');
  return 0;
}

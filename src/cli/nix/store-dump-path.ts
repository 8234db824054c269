/** `nix store dump-path PATH` / `nix nar dump-path PATH` (nix/dump-path.cc): the NAR of a store path on stdout. */
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { withAnyStore } from '../nix-store/store-view.js';
import { dropWords, nixUsage, resolveInstallables, resolvePathInstallables } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(dropWords(args, ['store', 'nar', 'dump-path']), ctx);
  for (const a of rest) if (a.startsWith('-')) throw nixUsage(`unrecognised flag '${a}'`);
  if (rest.length !== 1) throw nixUsage(rest.length === 0 ? "missing argument 'path'" : `unexpected argument '${rest[1]}'`);
  return withAnyStore(ctx, async (v) => {
    const [p] = (await resolvePathInstallables(v, resolveInstallables(v.storeDir, rest), ctx)).paths;
    await v.info(p!);
    for await (const chunk of v.store.narFromPath(p!)) {
      if (!ctx.stdout.write(chunk)) await new Promise((r) => ctx.stdout.once('drain', r));
    }
    return 0;
  });
}

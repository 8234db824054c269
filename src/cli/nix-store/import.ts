/** `nix-store --import` (nix-store.cc `opImport`): add the paths of an export stream on stdin, print each. */
import { importPaths } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError, withStore } from './store-common.js';

async function* bytes(s: NodeJS.ReadableStream): AsyncIterable<Uint8Array> {
  for await (const c of s) yield typeof c === 'string' ? Buffer.from(c) : new Uint8Array(c as Buffer);
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  for (const a of rest) throw usageError(`unknown flag '${a}'`);
  return withStore(ctx, async (store) => {
    for (const p of await importPaths(store, bytes(ctx.stdin))) ctx.stdout.write(store.print(p) + '\n');
    return 0;
  });
}

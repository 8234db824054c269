/**
 * `nix store cat PATH` and `nix nar cat NAR PATH` (nix/cat.cc `MixCat`,
 * Nix 2.8): a regular file's contents inside a store path or a NAR file.
 */
import { NixError, CoreErrorCode } from '../../core/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { withAnyStore } from '../nix-store/store-view.js';
import { nixUsage } from './store-common.js';
import { narAccessor, notExist, openStorePath, readNarFile, type FSAccessor } from './store-ls.js';

async function cat(acc: FSAccessor, path: string, ctx: CliContext): Promise<void> {
  const st = acc.stat(path);
  if (st.type === 'missing') throw notExist(path);
  if (st.type !== 'regular') throw new NixError(CoreErrorCode.E_IO, `path '${path}' is not a regular file`);
  const data = acc.readFile(path);
  if (!ctx.stdout.write(data)) await new Promise((r) => ctx.stdout.once('drain', r));
}

export async function run(argsIn: string[], ctx: CliContext): Promise<number> {
  const nar = argsIn[0] === 'nar';
  const { rest } = takeCommonFlags(argsIn.slice(2), ctx);
  const args: string[] = [];
  for (const a of rest) {
    if (a.startsWith('-') && a !== '-') throw nixUsage(`unrecognised flag '${a}'`);
    args.push(a);
  }
  const want = nar ? 2 : 1;
  if (args.length < want) throw nixUsage('more arguments are required');
  if (args.length > want) throw nixUsage(`unexpected argument '${args[want]}'`);
  if (nar) {
    await cat(await narAccessor(readNarFile(args[0]!)), args[1]!, ctx);
    return 0;
  }
  return withAnyStore(ctx, async (v) => {
    const { acc, path } = await openStorePath(v, args[0]!);
    await cat(acc, path, ctx);
    return 0;
  });
}

/**
 * `nix-store --repair-path PATH...` (Nix 2.8 `LocalStore::repairPath`): a
 * path that cannot be substituted (tix has no substituters) is repaired by
 * rebuilding its deriver in repair mode, which checks every output's contents
 * ("checking path '…'…") and rebuilds the corrupted or missing ones. A path
 * without a valid deriver cannot be repaired. `nix store repair` shares it.
 */
import { NixError } from '../../core/index.js';
import type { StorePath } from '../../formats/index.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, openBuildSession, reportBuildError, type BuildSession } from '../progress-build.js';
import { takeCommonFlags } from '../args.js';
import { usageError } from './store-common.js';

export async function repairPath(session: BuildSession, path: StorePath): Promise<void> {
  const { store } = session;
  const info = await store.queryPathInfo(path);
  if (info === undefined) throw new NixError('E0201', `path '${store.storeDir.print(path)}' is not valid`);
  const deriver = info.deriver;
  if (deriver === undefined || !(await store.isValidPath(deriver))) {
    throw new NixError('E0201', `cannot repair path '${store.storeDir.print(path)}'`);
  }
  await session.buildPaths([{ kind: 'built', drvPath: deriver, outputs: 'all' }], 'repair');
}

/** Open a build session, resolve the arguments with it and repair each path. */
export async function withRepairSession(ctx: CliContext, verbosity: number, resolve: (s: BuildSession) => Promise<StorePath[]>): Promise<number> {
  const session = await openBuildSession(ctx, { newCli: false, verbosity });
  try {
    for (const p of await resolve(session)) await repairPath(session, p);
    return 0;
  } catch (e) {
    return reportBuildError(e, ctx, session.logger);
  } finally {
    await session.close();
  }
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const common = takeCommonFlags(args, ctx);
  if (common.rest.some((a) => a.startsWith('-') && a !== '-')) throw usageError('no flags expected');
  return withRepairSession(ctx, common.verbosity, async (s) => common.rest.map((a) => followLinksToStorePath(s.store, a, process.cwd())));
}

/**
 * `nix store ping` (nix/ping-store.cc in 2.8): prints the store's URL, then
 * connects and prints the version the store reports (a daemon's from the
 * handshake, a local store's own), both on stderr as 2.8's notices.
 */
import { NIX_VERSION, RemoteStore } from '../../protocol/index.js';
import { openStore, storeUri } from '../../glue/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { dropWords, nixUsage } from './store-common.js';

/** 2.8's `Store::getUri()`: the store URL without its parameters. */
function printedUri(uri: string, remote: boolean): string {
  const main = uri.split('?')[0]!;
  if (main === 'auto' || main === '') return remote ? 'daemon' : 'local';
  if (main.startsWith('unix://') || main.startsWith('ssh-ng://') || main === 'daemon') return main;
  return 'local';
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(dropWords(args, ['store', 'ping']), ctx);
  for (const a of rest) throw nixUsage(a.startsWith('-') ? `unrecognised flag '${a}'` : `unexpected argument '${a}'`);
  const store = await openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env });
  try {
    const remote = store instanceof RemoteStore;
    ctx.stderr.write(`Store URL: ${printedUri(storeUri({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env }), remote)}\n`);
    const version = remote ? (await store.getInfo()).daemonVersion : NIX_VERSION;
    if (version !== undefined) ctx.stderr.write(`Version: ${version}\n`);
    return 0;
  } finally {
    await store.close?.();
  }
}

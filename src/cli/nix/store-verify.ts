/**
 * `nix store verify` (nix/verify.cc): checks contents (unless `--no-contents`)
 * and trust (unless `--no-trust`: ultimate, content-addressed, or enough
 * signatures from `trusted-public-keys`; tix checks only the first two, so
 * signed paths count as untrusted — see deviations). Exit status is the
 * bitmask 1 corrupted | 2 untrusted | 4 failed.
 */
import type { StorePath } from '../../formats/index.js';
import { HashSink, type StoreDir } from '../../formats/index.js';
import { checkContents, type Store, type ValidPathInfo } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { withAnyStore } from '../nix-store/store-view.js';
import { dropWords, nixUsage, resolveInstallables, resolvePathInstallables } from './store-common.js';

/** Does the `ca` field really produce this path? (`ValidPathInfo::isContentAddressed`) */
export function isContentAddressed(store: { storeDir: StoreDir }, i: ValidPathInfo): boolean {
  if (!i.ca) return false;
  const m = /^(text|fixed):(r:)?(md5|sha1|sha256|sha512):(.+)$/.exec(i.ca);
  if (m === null) return false;
  try {
    const hash = parseHashFor(m[3]!, m[4]!);
    const refs = i.references.filter((r) => !r.equals(i.path));
    const self = refs.length !== i.references.length;
    const p: StorePath = m[1] === 'text'
      ? store.storeDir.makeTextPath(i.path.name, hash, refs)
      : store.storeDir.makeFixedOutputPath({ recursive: m[2] === 'r:', hash, name: i.path.name, references: refs, hasSelfReference: self });
    return p.equals(i.path);
  } catch {
    return false;
  }
}

import { parseHash } from '../../formats/index.js';
function parseHashFor(algo: string, body: string) {
  return parseHash(`${algo}:${body}`);
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(dropWords(args, ['store', 'verify']), ctx);
  let noContents = false;
  let noTrust = false;
  let recursive = false;
  let all = false;
  const pos: string[] = [];
  for (const a of rest) {
    if (a === '--no-contents') noContents = true;
    else if (a === '--no-trust') noTrust = true;
    else if (a === '--recursive' || a === '-r') recursive = true;
    else if (a === '--all') all = true;
    else if (a.startsWith('-')) throw nixUsage(`unrecognised flag '${a}'`);
    else pos.push(a);
  }
  // Any store: a daemon's NARs come through NarFromPath and are hashed here, as in 2.8.
  return withAnyStore(ctx, async (v) => {
    const store = v.store;
    let paths = all ? await store.queryAllValidPaths() : (await resolvePathInstallables(v, resolveInstallables(v.storeDir, pos), ctx)).paths;
    if (recursive) paths = await v.closure(paths);
    let corrupted = 0;
    let untrusted = 0;
    let failed = 0;
    const log = { info: () => undefined, error: (m: string) => ctx.stderr.write(m + '\n') };
    // 2.8 reports a path that is not valid when it fails to query it, before any "checking" line.
    const valid: StorePath[] = [];
    for (const p of paths) {
      if ((await v.tryInfo(p)) !== undefined) valid.push(p);
      else {
        ctx.stderr.write(`error: path '${v.print(p)}' is not valid\n`);
        failed++;
      }
    }
    for (const p of (await v.topoSort(valid)).reverse()) {
      ctx.stderr.write(`checking '${v.print(p)}'...\n`);
      const i = (await v.tryInfo(p))!;
      if (!noContents && !(v.local ? checkContents(v.local, v.print(p), log) : await narMatches(store, i, log))) corrupted++;
      if (!noTrust && !i.ultimate && !isContentAddressed(store, i)) {
        untrusted++;
        ctx.stderr.write(`path '${v.print(p)}' is untrusted\n`);
      }
    }
    return (corrupted ? 1 : 0) | (untrusted ? 2 : 0) | (failed ? 4 : 0);
  });
}

async function narMatches(store: Store, i: ValidPathInfo, log: { error(m: string): void }): Promise<boolean> {
  const sink = new HashSink(i.narHash.type);
  for await (const chunk of store.narFromPath(i.path)) sink.update(chunk);
  const got = sink.finish();
  if (got.equals(i.narHash)) return true;
  log.error(`path '${store.storeDir.print(i.path)}' was modified! expected hash '${i.narHash.toString('base32')}', got '${got.toString('base32')}'`);
  return false;
}

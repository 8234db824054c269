/**
 * `nix-store --register-validity [--reregister] [--hash-given]`
 * (nix-store.cc `registerValidity`): read registration text on stdin,
 * canonicalise and (unless given) hash each path, register all in one transaction.
 */
import { canonicalisePathMetaData, decodeValidPathInfos, hashPath, type ValidPathInfo } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { usageError, withStore } from './store-common.js';

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(parts).toString('utf8');
}

export async function registerFromStdin(
  ctx: CliContext,
  o: { reregister: boolean; hashGiven: boolean; canonicalise: boolean },
): Promise<number> {
  const text = await readAll(ctx.stdin);
  return withStore(ctx, async (store) => {
    const byPath = new Map<string, ValidPathInfo>();
    for (const d of decodeValidPathInfos(store.storeDir, text, o.hashGiven)) {
      if (!o.reregister && (await store.isValidPath(d.path))) continue;
      const printed = store.print(d.path);
      if (o.canonicalise) canonicalisePathMetaData(printed);
      let narHash = d.narHash;
      let narSize = d.narSize ?? 0;
      if (!o.hashGiven) ({ hash: narHash, narSize } = hashPath(printed, 'sha256'));
      byPath.set(d.path.baseName, {
        path: d.path, narHash: narHash!, narSize, references: d.references, deriver: d.deriver,
        registrationTime: 0, ultimate: false, sigs: [],
      });
    }
    store.registerValidPaths([...byPath.values()]);
    return 0;
  });
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(args, ctx);
  let reregister = false;
  let hashGiven = false;
  for (const a of rest) {
    if (a === '--reregister') reregister = true;
    else if (a === '--hash-given') hashGiven = true;
    else throw usageError(`unknown flag '${a}'`);
  }
  return registerFromStdin(ctx, { reregister, hashGiven, canonicalise: true });
}

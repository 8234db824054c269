/**
 * `nix-hash` (Nix 2.8 src/nix/hash.cc `compatNixHash`): hash paths as NARs
 * (or flat with `--flat`), or convert hashes with `--to-base16`/`--to-base32`.
 * Defaults as in 2.8: md5, base16. `--sri`/`--to-sri` are accepted as later
 * Nix accepts them (2.8 rejects them as unknown flags; see docs/deviations.md):
 * they print `<type>-<base64>`.
 */
import { compressHash, encodeBase32, parseHash, type Hash, type HashType } from '../formats/index.js';
import { hashFile, hashPath } from '../store/index.js';
import { reachArg, takeCommonFlags, usageError, warnUnknownSettings } from './args.js';
import { hashTypeArg } from './hash-type-arg.js';
import type { CliContext } from './context.js';

interface Opts {
  type: HashType;
  flat: boolean;
  base32: boolean;
  sri: boolean;
  truncate: boolean;
  op: 'hash' | 'to-base16' | 'to-base32' | 'to-sri';
  items: string[];
}

function parseArgs(args: string[], ctx: CliContext): Opts {
  const o: Opts = { type: 'md5', flat: false, base32: false, sri: false, truncate: false, op: 'hash', items: [] };
  const common = takeCommonFlags(args, ctx, undefined, { defer: true });
  const rest = common.rest;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    reachArg(ctx, common, i);
    if (a === '--flat') o.flat = true;
    else if (a === '--base32') o.base32 = true;
    else if (a === '--sri') o.sri = true;
    else if (a === '--to-sri') o.op = 'to-sri';
    else if (a === '--truncate') o.truncate = true;
    else if (a === '--to-base16') o.op = 'to-base16';
    else if (a === '--to-base32') o.op = 'to-base32';
    else if (a === '--type') o.type = hashTypeArg(rest, i++, 'legacy');
    else if (a.startsWith('-') && a !== '') throw usageError(`unrecognised flag '${a}'`);
    else {
      warnUnknownSettings(ctx, common, i); // 2.8 warns at the first positional argument
      o.items.push(a);
    }
  }
  warnUnknownSettings(ctx, common);
  return o;
}

function printHash(h: Hash, o: Opts): string {
  const digest = o.truncate && h.digest.length > 20 ? compressHash(h.digest, 20) : h.digest;
  if (o.sri) return `${h.type}-${Buffer.from(digest).toString('base64')}`;
  return o.base32 ? encodeBase32(digest) : Buffer.from(digest).toString('hex');
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  if (args.includes('--help')) {
    ctx.stdout.write('Usage: nix-hash [--flat] [--base32|--sri] [--truncate] [--type TYPE] PATHS...\n       nix-hash [--to-base16|--to-base32|--to-sri] [--type TYPE] HASHES...\n');
    return 0;
  }
  if (args.includes('--version')) {
    ctx.stdout.write('nix-hash (Nix) 2.8.0\n');
    return 0;
  }
  const o = parseArgs(args, ctx);
  for (const item of o.items) {
    if (o.op === 'hash') {
      const h = o.flat ? hashFile(item, o.type) : hashPath(item, o.type).hash;
      ctx.stdout.write(printHash(h, o) + '\n');
    } else {
      const h = parseHash(item, o.type);
      const base = o.op === 'to-base32' ? 'base32' : o.op === 'to-sri' ? 'sri' : 'base16';
      ctx.stdout.write(h.toString(base, false) + '\n');
    }
  }
  return 0;
}

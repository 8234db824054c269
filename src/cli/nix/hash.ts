/**
 * `nix hash path|file|to-base16|to-base32|to-base64|to-sri` (Nix 2.8
 * src/nix/hash.cc). `path`/`file` default to sha256 printed as SRI; the
 * last of --base16/--base32/--base64/--sri wins. Conversions need the type
 * from the hash itself or `--type`. Each result is printed as soon as it is
 * known, so a later bad argument still leaves the earlier lines, as in Nix.
 */
import { parseHash, type Hash, type HashBase, type HashType } from '../../formats/index.js';
import { hashFile, hashPath } from '../../store/index.js';
import { takeCommonFlags, usageError } from '../args.js';
import { hashTypeArg } from '../hash-type-arg.js';
import type { CliContext } from '../context.js';

interface Opts {
  type?: HashType;
  base?: HashBase;
  items: string[];
}

function parseArgs(args: string[], ctx: CliContext): Opts {
  const o: Opts = { items: [] };
  const rest = takeCommonFlags(args, ctx).rest;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--base16' || a === '--base32' || a === '--base64' || a === '--sri') o.base = a.slice(2) as HashBase;
    else if (a === '--type') o.type = hashTypeArg(rest, i++, 'args');
    else if (a === '--') o.items.push(...rest.slice(i + 1)), (i = rest.length);
    else if (a.startsWith('-') && a.length > 1) throw usageError(`unrecognised flag '${a}'`);
    else o.items.push(a);
  }
  return o;
}

function print(h: Hash, base: HashBase): string {
  return base === 'sri' ? h.toString('sri') : h.toString(base, false);
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const [, sub, ...rest] = args;
  ctx.settings.requireExperimental('nix-command');
  const o = parseArgs(rest, ctx);
  for (const item of o.items) {
    let line: string;
    if (sub === 'path' || sub === 'file') {
      const type = o.type ?? 'sha256';
      const h = sub === 'path' ? hashPath(item, type).hash : hashFile(item, type);
      line = print(h, o.base ?? 'sri');
    } else {
      const target: HashBase = sub === 'to-base16' ? 'base16' : sub === 'to-base32' ? 'base32' : sub === 'to-base64' ? 'base64' : 'sri';
      line = print(parseHash(item, o.type), target);
    }
    ctx.stdout.write(line + '\n');
  }
  return 0;
}

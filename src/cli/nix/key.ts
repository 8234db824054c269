/**
 * `nix key generate-secret --key-name NAME` and `nix key
 * convert-secret-to-public` (nix/sigs.cc in 2.8): Ed25519 keys in Nix's
 * `name:base64` text, the secret holding seed and public key (64 bytes).
 */
import { readFileSync } from 'node:fs';
import { SecretKey } from '../../formats/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { dropWords, nixUsage } from './store-common.js';

export function generateSecretKey(name: string): { secret: string; public: string } {
  const key = SecretKey.generate(name);
  return { secret: key.toString(), public: key.toPublicKey().toString() };
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(dropWords(args, ['key']), ctx);
  const sub = rest.shift();
  if (sub === 'generate-secret') {
    let name: string | undefined;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === '--key-name') {
        if (i + 1 >= rest.length) throw nixUsage("flag '--key-name' requires 1 argument(s)");
        name = rest[++i];
      } else throw nixUsage(a.startsWith('-') ? `unrecognised flag '${a}'` : `unexpected argument '${a}'`);
    }
    if (name === undefined) throw nixUsage("required argument '--key-name' is missing");
    ctx.stdout.write(generateSecretKey(name).secret);
    return 0;
  }
  if (sub === 'convert-secret-to-public') {
    for (const a of rest) throw nixUsage(a.startsWith('-') ? `unrecognised flag '${a}'` : `unexpected argument '${a}'`);
    ctx.stdout.write(SecretKey.parse(readFileSync(0, 'latin1')).toPublicKey().toString());
    return 0;
  }
  throw nixUsage(sub === undefined ? "'nix key' requires a sub-command." : `'key ${sub}' is not a recognised command`);
}

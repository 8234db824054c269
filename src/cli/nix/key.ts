/**
 * `nix key generate-secret --key-name NAME` and `nix key
 * convert-secret-to-public` (nix/sigs.cc in 2.8): Ed25519 keys in Nix's
 * `name:base64` text, the secret holding seed and public key (64 bytes).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { NixError, CoreErrorCode } from '../../core/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { dropWords, nixUsage } from './store-common.js';

export function generateSecretKey(name: string): { secret: string; public: string } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  return { secret: `${name}:${Buffer.concat([seed, pub]).toString('base64')}`, public: `${name}:${pub.toString('base64')}` };
}

/** The public key of a `name:base64(seed ‖ public)` secret key; 2.8's error when it is not one. */
export function secretToPublic(text: string): string {
  const colon = text.indexOf(':');
  const raw = colon > 0 ? Buffer.from(text.slice(colon + 1), 'base64') : Buffer.alloc(0);
  if (raw.length !== 64) throw new NixError(CoreErrorCode.E_USAGE, 'secret key is corrupt');
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: raw.subarray(0, 32).toString('base64url'), x: raw.subarray(32).toString('base64url') }, format: 'jwk' });
  const pub = Buffer.from(createPublicKey(priv).export({ format: 'jwk' }).x!, 'base64url');
  return `${text.slice(0, colon)}:${pub.toString('base64')}`;
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
    ctx.stdout.write(secretToPublic(readFileSync(0, 'latin1')));
    return 0;
  }
  throw nixUsage(sub === undefined ? "'nix key' requires a sub-command." : `'key ${sub}' is not a recognised command`);
}

/**
 * `nix-store --generate-binary-cache-key NAME SECRET-FILE PUBLIC-FILE`
 * (Nix 2.8 `opGenerateBinaryCacheKey`): a fresh Ed25519 key pair, written as
 * Nix's `name:base64(...)` text — the secret key holds seed and public key
 * (64 bytes, libsodium's layout), the public key its 32 bytes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';

function rawKeys(): { seed: Buffer; pub: Buffer } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return { seed: Buffer.from(jwk.d!, 'base64url'), pub: Buffer.from(jwk.x!, 'base64url') };
}

export async function run(args: string[], _ctx: CliContext): Promise<number> {
  if (args.some((a) => a.startsWith('-') && a !== '-')) throw usageError('unknown flag');
  if (args.length !== 3) throw usageError('three arguments expected');
  const [name, secretFile, publicFile] = args as [string, string, string];
  const { seed, pub } = rawKeys();
  // The secret key is written first and never readable by others.
  writeFileSync(secretFile, `${name}:${Buffer.concat([seed, pub]).toString('base64')}`, { mode: 0o600 });
  writeFileSync(publicFile, `${name}:${pub.toString('base64')}`);
  return 0;
}

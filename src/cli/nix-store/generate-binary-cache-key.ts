/**
 * `nix-store --generate-binary-cache-key NAME SECRET-FILE PUBLIC-FILE`
 * (Nix 2.8 `opGenerateBinaryCacheKey`): a fresh Ed25519 key pair, written as
 * Nix's `name:base64(...)` text — the secret key holds seed and public key
 * (64 bytes, libsodium's layout), the public key its 32 bytes.
 */
import { writeFileSync } from 'node:fs';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';
import { generateSecretKey } from '../nix/key.js';

export async function run(args: string[], _ctx: CliContext): Promise<number> {
  if (args.some((a) => a.startsWith('-') && a !== '-')) throw usageError('unknown flag');
  if (args.length !== 3) throw usageError('three arguments expected');
  const [name, secretFile, publicFile] = args as [string, string, string];
  const key = generateSecretKey(name);
  // The secret key is written first and never readable by others.
  writeFileSync(secretFile, key.secret, { mode: 0o600 });
  writeFileSync(publicFile, key.public);
  return 0;
}

/**
 * The files Nix 2.8 writes into the chroot's `/etc`
 * (`LocalDerivationGoal::startBuilder` and `runChild`): a passwd and group
 * naming the sandbox user `nixbld` and `nobody`, `/etc/hosts` for ordinary
 * builds, and for fixed-output derivations an nsswitch.conf that limits name
 * service to files+dns plus the host's resolv.conf/services/hosts.
 */
import { readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Ids of the builder inside its user namespace (2.8 `sandboxUid`/`sandboxGid`). */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 100;

export function passwdText(buildDirInSandbox: string, uid = SANDBOX_UID, gid = SANDBOX_GID): string {
  return (
    `root:x:0:0:Nix build user:${buildDirInSandbox}:/noshell\n` +
    `nixbld:x:${uid}:${gid}:Nix build user:${buildDirInSandbox}:/noshell\n` +
    `nobody:x:65534:65534:Nobody:/:/noshell\n`
  );
}

export function groupText(gid = SANDBOX_GID): string {
  return `root:x:0:\nnixbld:!:${gid}:\nnogroup:x:65534:\n`;
}

export const HOSTS_TEXT = '127.0.0.1 localhost\n::1 localhost\n';
export const NSSWITCH_TEXT = 'hosts: files dns\nservices: files\n';

/** Host files a fixed-output derivation gets, when they exist. */
const NETWORK_FILES = ['resolv.conf', 'services', 'hosts'];

/**
 * Fill `etcDir` (bound read-only at `/etc`). Host files are copied rather than
 * bound: the builder needs their content, and a copy keeps `/etc` one mount.
 */
export function writeEtc(etcDir: string, buildDirInSandbox: string, network: boolean): void {
  mkdirSync(etcDir, { recursive: true });
  writeFileSync(join(etcDir, 'passwd'), passwdText(buildDirInSandbox));
  writeFileSync(join(etcDir, 'group'), groupText());
  if (!network) {
    writeFileSync(join(etcDir, 'hosts'), HOSTS_TEXT);
  } else {
    writeFileSync(join(etcDir, 'nsswitch.conf'), NSSWITCH_TEXT);
    for (const f of NETWORK_FILES) {
      let text: Buffer;
      try {
        text = readFileSync(join('/etc', f));
      } catch {
        continue; // "it is realistic that these paths might not exist" (2.8)
      }
      writeFileSync(join(etcDir, f), text);
    }
  }
  chmodSync(etcDir, 0o755); // as 2.8 leaves it; the sandbox binds it read-only anyway
}

/**
 * Canonicalising a fresh build output (Nix 2.8 `registerOutputs` →
 * `canonicalisePathMetaData`): the output's top object must not be group- or
 * world-writable (someone else could have interfered), then every object gets
 * mode 0444/0555 (no setuid/setgid/sticky), mtime 1, and our uid when root.
 */
import { chmodSync, lchownSync, lstatSync, lutimesSync, readdirSync, constants as C } from 'node:fs';
import { join } from 'node:path';
import { NixError } from '../core/index.js';
import { BuildErrorCode } from './errors.js';

// Read at first use, not at load: a startup snapshot loads this module in another process.
let ids: [uid: number, gid: number] | undefined;
const ownIds = (): [number, number] => (ids ??= [process.getuid?.() ?? -1, process.getgid?.() ?? -1]);

export function checkOutputPermissions(actualPath: string, outputName: string): void {
  const st = lstatSync(actualPath);
  if (!st.isSymbolicLink() && (st.mode & (C.S_IWGRP | C.S_IWOTH)) !== 0) {
    throw new NixError(
      BuildErrorCode.E_OUTPUT_REJECTED,
      `suspicious ownership or permission on '${actualPath}' for output '${outputName}'; rejecting this build output`,
    );
  }
}

export function canonicaliseOutput(path: string): void {
  const st = lstatSync(path);
  if (st.isDirectory()) for (const e of readdirSync(path)) canonicaliseOutput(join(path, e));
  const [uid, gid] = ownIds();
  if (uid === 0 && (st.uid !== uid || st.gid !== gid)) lchownSync(path, uid, gid);
  if (!st.isSymbolicLink()) {
    const mode = st.isDirectory() || (st.mode & C.S_IXUSR) !== 0 ? 0o555 : 0o444;
    if ((st.mode & 0o7777) !== mode) chmodSync(path, mode);
  }
  if (st.mtimeMs !== 1000) lutimesSync(path, 1, 1);
}

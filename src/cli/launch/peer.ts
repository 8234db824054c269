/**
 * Whether a warm child may run a job for the process at the other end of its
 * connection: the job must be indistinguishable from a process the client
 * would have started itself, so the client must have our credentials
 * (uids, gids, supplementary groups, capabilities, no_new_privs, seccomp),
 * our namespaces and root, and our resource limits. Anything else is refused
 * and the client runs the command itself.
 */
import { readFileSync, readlinkSync } from 'node:fs';

const NAMESPACES = ['mnt', 'pid', 'user', 'net', 'ipc', 'uts'];
const STATUS_FIELDS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp'];

function statusFields(pid: number | 'self'): string {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return text.split('\n').filter((l) => STATUS_FIELDS.includes(l.slice(0, l.indexOf(':')))).join('\n');
}

/** Resource limits, except the soft open-files limit: Node raises that to the hard limit at start-up. */
function limits(pid: number | 'self'): string {
  return readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .map((l) => (l.startsWith('Max open files') ? l.replace(/^(Max open files\s+)\S+/, '$1*') : l))
    .join('\n');
}

function identity(pid: number | 'self'): string {
  const ns = NAMESPACES.map((n) => readlinkSync(`/proc/${pid}/ns/${n}`));
  return [...ns, readlinkSync(`/proc/${pid}/root`), statusFields(pid), limits(pid)].join('\n');
}

let own: string | undefined;

/** Why the peer may not use this child, or undefined when it may. */
export function refuseReason(peer: { pid: number; uid: number; gid: number }): string | undefined {
  if (peer.uid !== process.geteuid!() || peer.gid !== process.getegid!()) return 'different user';
  if (peer.pid <= 0) return 'peer not visible';
  try {
    own ??= identity('self');
    const theirs = identity(peer.pid);
    if (theirs !== own) return 'different credentials, namespaces or limits';
  } catch {
    return 'peer not inspectable';
  }
  return undefined;
}

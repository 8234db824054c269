/**
 * The sandbox's processes as tix sees them: whether its pid 1 still runs,
 * and bwrap's exit status mapped back to the builder's (bwrap reports a
 * builder killed by signal N as status 128+N).
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

/** Running (not gone, not a zombie). pid 1 of a pid namespace turns zombie only once the rest of it is gone. */
export function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export function sandboxSetupFailure(msg: string): void {
  process.stderr.write(`error: while setting up the build environment: ${msg}\n`);
}

export function mapStatus(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  // bwrap reports a builder killed by signal N as exit status 128+N.
  if (code !== null && code > 128 && code < 128 + 65) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return { code: null, signal: name as NodeJS.Signals };
  }
  return { code, signal };
}


/**
 * Replay and mutation of recorded daemon sessions (test/vectors/protocol/
 * sessions.json, made by daemon-record.ts) against a running daemon.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { SESSIONS_FILE, VECTOR_ROOT, type RecordedSession } from './daemon-record.js';
import assert from 'node:assert/strict';
import { mulberry32, runRef, type NixRoot } from '../harness/index.js';
import type { RunningDaemon } from '../differential/daemon-harness.js';
import { RemoteStore, unixConnector } from '../../src/protocol/index.js';

export { VECTOR_ROOT };

export interface Sessions {
  root: string;
  sessions: RecordedSession[];
}

export function loadSessions(): Sessions {
  return JSON.parse(readFileSync(SESSIONS_FILE, 'utf8')) as Sessions;
}

export function sideBytes(s: RecordedSession, dir: 'c2s' | 's2c'): Buffer {
  return Buffer.concat(s.chunks.filter((c) => c.dir === dir).map((c) => Buffer.from(c.hex, 'hex')));
}

const LAST = 0x616c7473n;
const ERROR = 0x63787470n;

/** Count STDERR_LAST / STDERR_ERROR codes at 8-byte-aligned positions (server output is aligned). */
export function countTerminators(b: Buffer): { last: number; error: number } {
  let last = 0;
  let error = 0;
  for (let i = 0; i + 8 <= b.length; i += 8) {
    const v = b.readBigUInt64LE(i);
    if (v === LAST) last++;
    else if (v === ERROR) error++;
  }
  return { last, error };
}

/**
 * Send `data`, collect the answer until `done(answer)` holds, the server
 * closes, or nothing arrives for `idleMs`; then hang up.
 */
export function exchange(socket: string, data: Buffer, opts: { idleMs: number; done?: (b: Buffer) => boolean }): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = connect(socket);
    const parts: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(parts));
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, opts.idleMs);
    };
    s.on('data', (b) => {
      parts.push(b);
      if (opts.done?.(Buffer.concat(parts))) finish();
      else arm();
    });
    s.on('error', finish);
    s.on('close', finish);
    s.on('connect', () => {
      s.write(data);
      arm();
    });
  });
}

export const rng = mulberry32;

const INTERESTING = [0n, 1n, 2n, 7n, 8n, 0xffn, 0x7fffffffn, 0xffffffffn, 0x100000000n, 1n << 40n, (1n << 63n) - 1n, (1n << 64n) - 1n, 99n, 47n, 1000n];

/** One mutation of a client byte stream (structure-aware at u64 granularity). */
export function mutate(input: Buffer, r: () => number): Buffer {
  const b = Buffer.from(input);
  if (b.length < 16) return b;
  const words = Math.floor(b.length / 8);
  const at = (): number => Math.floor(r() * words) * 8;
  const kind = Math.floor(r() * 8);
  switch (kind) {
    case 0: {
      // flip a few bits
      for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) b[Math.floor(r() * b.length)]! ^= 1 << Math.floor(r() * 8);
      return b;
    }
    case 1: {
      // replace a u64 with an interesting value (lengths, counts, opcodes)
      b.writeBigUInt64LE(INTERESTING[Math.floor(r() * INTERESTING.length)]!, at());
      return b;
    }
    case 2:
      // truncate
      return b.subarray(0, Math.floor(r() * b.length));
    case 3: {
      // delete a word range
      const i = at();
      return Buffer.concat([b.subarray(0, i), b.subarray(i + 8 * (1 + Math.floor(r() * 4)))]);
    }
    case 4: {
      // duplicate a word range
      const i = at();
      const n = 8 * (1 + Math.floor(r() * 8));
      return Buffer.concat([b.subarray(0, i + n), b.subarray(i, i + n), b.subarray(i + n)]);
    }
    case 5: {
      // random bytes inserted
      const i = Math.floor(r() * b.length);
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 32) }, () => Math.floor(r() * 256)));
      return Buffer.concat([b.subarray(0, i), junk, b.subarray(i)]);
    }
    case 6: {
      // opcode confusion: an aligned word becomes a small number
      b.writeBigUInt64LE(BigInt(Math.floor(r() * 50)), at());
      return b;
    }
    default: {
      // increment/decrement a length by a little (padding and framing edge cases)
      const i = at();
      const v = b.readBigUInt64LE(i);
      b.writeBigUInt64LE((v + BigInt(Math.floor(r() * 17)) - 8n) & ((1n << 64n) - 1n), i);
      return b;
    }
  }
}

/** The reference's `nix-store --verify --check-contents` finds the store clean. */
export function checkStoreClean(root: NixRoot): void {
  const v = runRef(root, 'nix-store', ['--verify', '--check-contents'], { env: { NIX_REMOTE: '' } });
  assert.equal(v.status, 0, `nix-store --verify: ${v.stderr}`);
  assert.doesNotMatch(v.stderr, /error|corrupt|modified|disappeared/i, v.stderr);
}

/** After a fuzz run: the daemon is alive, logged no unexpected failure, still adds a path, and the store is clean. */
export async function assertDaemonSurvived(d: RunningDaemon, root: NixRoot): Promise<void> {
  assert.equal(d.proc.exitCode, null, `daemon died: ${d.stderr().slice(-2000)}`);
  assert.doesNotMatch(d.stderr(), /unexpected daemon failure|Uncaught|TypeError|RangeError/, d.stderr().slice(-2000));
  const c = new RemoteStore({ storeDir: root.storeDir, connect: unixConnector(d.socket) });
  try {
    const p = await c.addTextToStore('after-fuzz', new TextEncoder().encode('ok'), []);
    assert.equal(await c.isValidPath(p), true);
  } finally {
    await c.close();
  }
  checkStoreClean(root);
}

/**
 * Records real client↔daemon sessions for replay and fuzzing: the reference
 * 2.8 clients run the daemon scenario against the reference `nix-daemon`
 * through a logging proxy, in a root at the fixed directory VECTOR_ROOT (store
 * paths depend on the store dir, so replays use the same directory).
 *
 * Run: `node dist/test/fuzz/daemon-record.js` (writes test/vectors/protocol/sessions.json).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRoot, REPO_ROOT } from '../harness/index.js';
import { runRefAsync, startNixDaemon, startRecorder } from '../differential/daemon-harness.js';
import { STEPS, populate } from '../differential/daemon-scenario.js';

export const VECTOR_ROOT = '/tmp/tixvec-RECORD';
export const SESSIONS_FILE = join(REPO_ROOT, 'test', 'vectors', 'protocol', 'sessions.json');

export interface RecordedSession {
  /** The scenario step that made it. */
  step: string;
  /** Chunks as recorded: direction and hex bytes. */
  chunks: { dir: 'c2s' | 's2c'; hex: string }[];
}

async function main(): Promise<void> {
  rmSync(VECTOR_ROOT, { recursive: true, force: true });
  mkdirSync(VECTOR_ROOT, { recursive: true });
  const root = makeRoot({ dir: VECTOR_ROOT, conf: 'trusted-users = root' });
  populate(root);
  const d = await startNixDaemon('ref', root);
  const rec = await startRecorder(join(VECTOR_ROOT, 'proxy.sock'), d.socket);
  const out: RecordedSession[] = [];
  const vars: Record<string, string> = {};
  try {
    for (const s of STEPS) {
      const before = rec.sessions.length;
      s.prepare?.(vars);
      const r = await runRefAsync(root, s.prog, s.args(vars), { NIX_REMOTE: `unix://${rec.socket}` });
      if (s.save) vars[s.save] = r.stdout.trim();
      await new Promise((res) => setTimeout(res, 100));
      for (const sess of rec.sessions.slice(before)) {
        out.push({ step: s.name, chunks: sess.map((c) => ({ dir: c.dir, hex: c.data.toString('hex') })) });
      }
      process.stderr.write(`${s.name}: exit ${r.status}, ${rec.sessions.length - before} session(s)\n`);
    }
  } finally {
    await rec.close();
    await d.stop();
    root.cleanup();
  }
  mkdirSync(join(REPO_ROOT, 'test', 'vectors', 'protocol'), { recursive: true });
  writeFileSync(SESSIONS_FILE, JSON.stringify({ root: VECTOR_ROOT, sessions: out }, null, 0) + '\n');
  process.stderr.write(`wrote ${out.length} sessions to ${SESSIONS_FILE}\n`);
}

if (process.argv[1]?.endsWith('daemon-record.js')) await main();

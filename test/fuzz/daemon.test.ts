/**
 * Recorded real sessions (reference 2.8 clients ↔ reference daemon) replayed
 * against tix's daemon, then mutated (issue 6 robustness): the daemon must
 * stay alive, never log an unexpected failure, keep serving, and leave a store
 * that the reference `nix-store --verify --check-contents` finds clean.
 * TIX_FUZZ_SESSIONS sets the count (default 300; the full run is 50000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, type NixRoot } from '../harness/index.js';
import { startNixDaemon, type RunningDaemon } from '../differential/daemon-harness.js';
import { populate } from '../differential/daemon-scenario.js';
import { VECTOR_ROOT, assertDaemonSurvived, checkStoreClean, countTerminators, exchange, loadSessions, mutate, rng, sideBytes } from './daemon-fuzz-lib.js';

const COUNT = Number(process.env.TIX_FUZZ_SESSIONS ?? 300);
const PARALLEL = 8;

/**
 * The recorded paths fix the root directory, so two runs on one machine (two
 * checkouts, a developer and CI) take turns through a lock directory.
 */
async function lockVectorRoot(): Promise<() => void> {
  const lock = VECTOR_ROOT + '.lock';
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // being created right now
      }
      let alive = true;
      try {
        if (Number.isInteger(owner)) process.kill(owner, 0);
      } catch {
        alive = false;
      }
      if (!alive) rmSync(lock, { recursive: true, force: true });
      if (i > 6000) throw new Error(`${lock} is held by pid ${owner}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function withVectorRoot(fn: (root: NixRoot, d: RunningDaemon) => Promise<void>): Promise<void> {
  const unlock = await lockVectorRoot();
  try {
    await withVectorRootLocked(fn);
  } finally {
    unlock();
  }
}

async function withVectorRootLocked(fn: (root: NixRoot, d: RunningDaemon) => Promise<void>): Promise<void> {
  rmSync(VECTOR_ROOT, { recursive: true, force: true });
  mkdirSync(VECTOR_ROOT, { recursive: true });
  const root = makeRoot({ dir: VECTOR_ROOT, conf: 'trusted-users = root' });
  populate(root);
  const d = await startNixDaemon('tix', root);
  try {
    await fn(root, d);
  } finally {
    await d.stop();
    root.cleanup();
  }
}

async function replayAll(d: RunningDaemon): Promise<{ step: string; ref: { last: number; error: number }; tix: { last: number; error: number } }[]> {
  const out = [];
  for (const s of loadSessions().sessions) {
    const ref = countTerminators(sideBytes(s, 's2c'));
    const answer = await exchange(d.socket, sideBytes(s, 'c2s'), {
      idleMs: 30_000,
      done: (b) => {
        const t = countTerminators(b);
        return t.last + t.error >= ref.last + ref.error;
      },
    });
    out.push({ step: s.step, ref, tix: countTerminators(answer) });
  }
  return out;
}

test('replayed real sessions get the same answers (LAST/ERROR per op) as from the reference daemon', { skip: !haveReference() }, async () => {
  await withVectorRoot(async (root, d) => {
    const results = await replayAll(d);
    assert.ok(results.length >= 10);
    for (const r of results) assert.deepEqual(r.tix, r.ref, r.step);
    checkStoreClean(root);
  });
});

test(`${COUNT} mutated sessions leave the daemon alive and the store clean`, { skip: !haveReference() }, async () => {
  await withVectorRoot(async (root, d) => {
    await replayAll(d); // state the sessions expect
    const sessions = loadSessions().sessions.map((s) => sideBytes(s, 'c2s'));
    const r = rng(0x5eed);
    let next = 0;
    const tally = { ops: 0, errors: 0 };
    const worker = async (): Promise<void> => {
      while (next < COUNT) {
        next++;
        let data = sessions[Math.floor(r() * sessions.length)]!;
        for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) data = mutate(data, r);
        const t = countTerminators(await exchange(d.socket, data, { idleMs: 150 }));
        if (t.last >= 2) tally.ops++;
        if (t.error > 0) tally.errors++;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    await assertDaemonSurvived(d, root);
    if (process.env.TIX_DEBUG) console.log(tally);
    // The mutations reach the operations: some still succeed, some are refused.
    assert.ok(tally.ops > COUNT / 10 && tally.errors > COUNT / 20, JSON.stringify(tally));
  });
});

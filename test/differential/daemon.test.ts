/**
 * The reference Nix 2.8 clients against tix's daemon, compared with the same
 * clients against the reference daemon (issue 6 acceptance): the same command
 * sequence runs in a fresh root at the same directory for each daemon, and
 * exit codes and normalised outputs must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runRef, runTix } from '../harness/index.js';
import { STEPS, outcomeOf, populate, type Outcome } from './daemon-scenario.js';
import { startNixDaemon } from './daemon-harness.js';

const stderrs = new Map<string, string>();

async function runScenario(kind: 'ref' | 'tix', dir: string, client: 'ref' | 'tix' = 'ref'): Promise<Outcome[]> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir, conf: 'trusted-users = root' });
  populate(root);
  const d = await startNixDaemon(kind, root);
  const vars: Record<string, string> = {};
  const out: Outcome[] = [];
  try {
    for (const s of STEPS) {
      const run = client === 'ref' ? runRef : runTix;
      s.prepare?.(vars);
      const r = run(root, s.prog, s.args(vars), { env: { NIX_REMOTE: 'daemon' }, timeoutMs: 120_000 });
      if (s.save) vars[s.save] = r.stdout.trim();
      out.push(outcomeOf(s, r, (t) => normalise(t, root)));
      stderrs.set(s.name, normalise(r.stderr, root));
    }
    return out;
  } finally {
    await d.stop();
    root.cleanup();
  }
}

test('reference clients: tix daemon gives the same results as the reference daemon', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-daemon-'));
  try {
    const ref = await runScenario('ref', join(base, 'r'));
    const tix = await runScenario('tix', join(base, 'r'));
    for (const [i, r] of ref.entries()) {
      assert.deepEqual(tix[i], r, `step '${r.name}'; tix daemon stderr:\n${stderrs.get(r.name)}`);
    }
    // Sanity: the scenario really did something against the reference.
    assert.equal(ref.find((o) => o.name === 'nix-store -r .drv')?.status, 0);
    assert.equal(ref.find((o) => o.name === 'nix-build')?.status, 0);
    assert.equal(ref.find((o) => o.name === 'nix-store --verify-path (modified)')?.status, 1);
    assert.equal(tix.length, ref.length);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('tix clients against the reference daemon give the same results as the reference clients', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-daemon-'));
  try {
    const ref = await runScenario('ref', join(base, 'r'), 'ref');
    const tix = await runScenario('ref', join(base, 'r'), 'tix');
    for (const [i, r] of ref.entries()) {
      if (process.env.TIX_DEBUG && JSON.stringify(tix[i]) !== JSON.stringify(r)) console.log('MISMATCH', r.name, JSON.stringify(tix[i]), JSON.stringify(r), stderrs.get(r.name));
      assert.deepEqual(tix[i], r, `step '${r.name}'; tix client stderr:\n${stderrs.get(r.name)}`);
    }
    assert.equal(tix.length, ref.length);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

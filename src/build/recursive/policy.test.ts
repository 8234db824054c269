/** Beyond 2.8 (issue 8 §6.5–6.7): system/features, fixed-output policy, depth and cycles. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashBytes, StoreDir, type StorePath } from '../../formats/index.js';
import { Settings } from '../../core/index.js';
import { RecursivePolicy, parseFixedOutputPolicy, policySettings, type FixedOutputPolicy, type InnerDrvInfo } from './policy.js';
import { RecursiveRegistry } from './registry.js';

const sd = new StoreDir('/tix-test/store');
const path = (n: string): StorePath => sd.makeTextPath(n, hashBytes('sha256', n), []);

interface World {
  drvs: Map<string, InnerDrvInfo>;
  valid: Set<string>;
}

function policy(w: World, over: { fixedOutput?: FixedOutputPolicy; depth?: number; maxDepth?: number; outerFeatures?: string[]; wouldDeadlock?: (d: StorePath) => boolean } = {}): RecursivePolicy {
  return new RecursivePolicy({
    storeDir: sd,
    outerSystem: 'x86_64-linux',
    outerFeatures: over.outerFeatures ?? ['recursive-nix', 'big-parallel'],
    fixedOutput: over.fixedOutput ?? 'valid-only',
    maxDepth: over.maxDepth ?? 8,
    depth: over.depth ?? 1,
    wouldDeadlock: over.wouldDeadlock,
    readDerivation: async (p) => w.drvs.get(p.baseName)!,
    isValid: async (p) => w.valid.has(p.baseName),
  });
}

function drv(w: World, name: string, info: Partial<InnerDrvInfo> = {}): { drv: StorePath; out: StorePath } {
  const d = path(`${name}.drv`);
  const out = path(name);
  w.drvs.set(d.baseName, { system: 'x86_64-linux', requiredSystemFeatures: [], fixedOutput: false, inputDrvs: [], outputPaths: [out], ...info });
  return { drv: d, out };
}

const world = (): World => ({ drvs: new Map(), valid: new Set() });

test('a plain inner derivation passes and reports what it may build', async () => {
  const w = world();
  const dep = drv(w, 'dep');
  const top = drv(w, 'top', { inputDrvs: [dep.drv] });
  const built = await policy(w).checkBuild(top.drv);
  assert.deepEqual(built.map(String).sort(), [dep.drv, top.drv].map(String).sort());
  w.valid.add(dep.out.baseName);
  assert.deepEqual((await policy(w).checkBuild(top.drv)).map(String), [top.drv.baseName], 'valid inputs are not built');
});

test('system and feature restrictions (Nix #3176)', async () => {
  const w = world();
  const other = drv(w, 'arm', { system: 'aarch64-linux' });
  await assert.rejects(() => policy(w).checkBuild(other.drv), {
    message: `cannot build '${sd.print(other.drv)}' in recursive Nix: it is for system 'aarch64-linux', but the enclosing build is for 'x86_64-linux'`,
  });
  const kvm = drv(w, 'kvm', { requiredSystemFeatures: ['kvm'] });
  await assert.rejects(() => policy(w).checkBuild(kvm.drv), /requires system feature 'kvm', which the enclosing build does not have/);
  const sub = drv(w, 'sub', { requiredSystemFeatures: ['big-parallel', 'recursive-nix'] });
  await policy(w, { outerFeatures: ['big-parallel'] }).checkBuild(sub.drv);
  // Deep in the closure counts too.
  const top = drv(w, 'top2', { inputDrvs: [kvm.drv] });
  await assert.rejects(() => policy(w).checkBuild(top.drv), /'kvm'/);
});

test('fixed-output policy: allow | valid-only | deny', async () => {
  const w = world();
  const fod = drv(w, 'src.tar.gz', { fixedOutput: true });
  const user = drv(w, 'user', { inputDrvs: [fod.drv] });
  await policy(w, { fixedOutput: 'allow' }).checkBuild(user.drv);
  assert.equal(policy(w, { fixedOutput: 'allow' }).fixedOutputNetwork, true);
  assert.equal(policy(w).fixedOutputNetwork, false);
  for (const pol of ['valid-only', 'deny'] as const) {
    await assert.rejects(() => policy(w, { fixedOutput: pol }).checkBuild(user.drv), {
      message: `cannot build fixed-output derivation '${sd.print(fod.drv)}' in recursive Nix (recursive-nix-fixed-output = ${pol})`,
    });
  }
  w.valid.add(fod.out.baseName);
  await policy(w, { fixedOutput: 'valid-only' }).checkBuild(user.drv);
  await policy(w, { fixedOutput: 'valid-only' }).checkBuild(fod.drv);
  await policy(w, { fixedOutput: 'deny' }).checkBuild(user.drv);
  await assert.rejects(() => policy(w, { fixedOutput: 'deny' }).checkBuild(fod.drv), /= deny/);
});

test('depth limit', async () => {
  const w = world();
  const d = drv(w, 'x');
  await policy(w, { depth: 2, maxDepth: 3 }).checkBuild(d.drv);
  await assert.rejects(() => policy(w, { depth: 3, maxDepth: 3 }).checkBuild(d.drv), {
    message: `cannot build '${sd.print(d.drv)}' in recursive Nix: recursion deeper than recursive-nix-max-depth (3)`,
  });
});

test('cycles through the registry fail fast', async () => {
  const w = world();
  const reg = new RecursiveRegistry();
  const a = drv(w, 'a');
  const b = drv(w, 'b');
  const ea = reg.register(a.drv.baseName);
  const releaseA = reg.beginWait(ea, [b.drv.baseName]);
  const eb = reg.register(b.drv.baseName);
  assert.equal(eb.depth, 2);
  const pb = policy(w, { depth: eb.depth, wouldDeadlock: (d) => reg.wouldDeadlock(eb, d.baseName) });
  await assert.rejects(() => pb.checkBuild(a.drv), /already being built by an enclosing build \(recursion cycle\)/);
  // Through an input: b asks for c, which needs a.
  const c = drv(w, 'c', { inputDrvs: [a.drv] });
  await assert.rejects(() => pb.checkBuild(c.drv), /recursion cycle/);
  await assert.rejects(() => pb.checkBuild(b.drv), /recursion cycle/, 'asking for itself');
  releaseA();
  await pb.checkBuild(a.drv);
  reg.unregister(eb);
  reg.unregister(ea);
});

test('settings: defaults, parsing and bad values', () => {
  const s = new Settings();
  assert.deepEqual(policySettings(s), { fixedOutput: 'valid-only', maxDepth: 8 });
  s.set('recursive-nix-fixed-output', 'deny');
  s.set('recursive-nix-max-depth', '3');
  assert.deepEqual(policySettings(s), { fixedOutput: 'deny', maxDepth: 3 });
  assert.throws(() => parseFixedOutputPolicy('sometimes'), /invalid value 'sometimes' for setting 'recursive-nix-fixed-output'/);
  s.set('recursive-nix-max-depth', '0');
  assert.throws(() => policySettings(s), /must be at least 1/);
});

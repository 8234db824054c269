/**
 * Sandbox benchmarks (issue 7): per-build overhead of the sandbox (trivial
 * build, sandbox on against off), a build with 300 inputs, and the cost of
 * one injection; the reference Nix 2.8 runs the same builds with
 * `--option sandbox true|false` so the overheads compare directly.
 *
 *   node dist/bench/sandbox.js [rounds=15]
 *
 * tix's figure is the sandbox layer itself (createSandbox → spawn → exit →
 * destroy, against spawning the same builder directly), which is what the
 * sandbox adds to a build; the reference's is end to end (`nix-store
 * --realise --check`), whose difference is likewise what its sandbox adds.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../src/core/index.js';
import { createSandbox, NoSandbox, sandboxAvailability, type Sandbox } from '../src/build/sandbox/index.js';
import { makeRoot, REF_BIN, type NixRoot } from '../test/harness/index.js';

const ROUNDS = Number(process.argv[2] ?? 15);
let viewMode = '';
const SANDBOX_PATHS = '/bin/sh=/bin/bash /bin/bash /usr /lib /lib64?';

function mean(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const trimmed = s.slice(Math.floor(s.length * 0.1), Math.ceil(s.length * 0.9)); // drop outliers
  return trimmed.reduce((a, b) => a + b, 0) / trimmed.length;
}

// ---------- tix: the sandbox layer ----------

interface FakeStore {
  dir: string;
  store: string;
  inputs: string[];
  inj: string[];
}

function fakeStore(nInputs: number, nInj: number): FakeStore {
  const dir = mkdtempSync(join(tmpdir(), 'tix-sb-bench-'));
  chmodSync(dir, 0o755);
  const store = join(dir, 'store');
  mkdirSync(store);
  const mk = (i: number, tag: string): string => {
    const hash = (tag + String(i).padStart(31, '0')).slice(0, 32).replace(/[^0-9a-z]/g, '0');
    const p = join(store, `${hash}-p${i}`);
    mkdirSync(p);
    writeFileSync(join(p, 'f'), `content ${i}\n`);
    return p;
  };
  const inputs = Array.from({ length: nInputs }, (_, i) => mk(i, 'a'));
  const inj = Array.from({ length: nInj }, (_, i) => mk(i, 'c'));
  return { dir, store, inputs, inj };
}

async function tixBuild(fs: FakeStore, sandboxed: boolean, inputs: string[], during?: (sb: Sandbox) => Promise<void>, script = 'echo hi > $out'): Promise<void> {
  const build = join(fs.dir, 'build');
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build);
  const out = join(fs.store, 'dddddddddddddddddddddddddddddddd-out');
  rmSync(out, { recursive: true, force: true });
  const settings = new Settings();
  settings.set('sandbox-paths', SANDBOX_PATHS);
  const sb = sandboxed
    ? await createSandbox({
        drvPath: join(fs.store, 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-bench.drv'), storeDir: fs.store, buildDir: build,
        inputClosure: new Set(inputs), outputs: new Map([['out', out]]), network: false, noChroot: false, settings, requiredSystemFeatures: [],
      })
    : new NoSandbox(build);
  const child = await sb.spawn({ builder: '/bin/sh', args: ['-c', script], env: { out, PATH: '/usr/bin:/bin' }, cwd: sb.buildDirInSandbox });
  child.output.resume();
  if (during) await during(sb);
  viewMode = (sb as { viewMode?: string }).viewMode ?? viewMode;
  const st = await child.exited;
  await sb.destroy();
  if (st.code !== 0) throw new Error(`bench builder failed: ${JSON.stringify(st)}`);
}

async function timeIt(rounds: number, f: () => Promise<void>): Promise<number> {
  await f(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  return mean(xs);
}

async function tixFigures(): Promise<{ off: number; on: number; on300: number; off300: number; inject: number }> {
  const fs1 = fakeStore(1, 0);
  const fs300 = fakeStore(300, 0);
  const fsInj = fakeStore(1, 100);
  try {
    // Interleave on/off rounds so machine noise hits both alike.
    const off = await timeIt(ROUNDS, () => tixBuild(fs1, false, fs1.inputs));
    const on = await timeIt(ROUNDS, () => tixBuild(fs1, true, fs1.inputs));
    const off300 = await timeIt(ROUNDS, () => tixBuild(fs300, false, fs300.inputs));
    const on300 = await timeIt(ROUNDS, () => tixBuild(fs300, true, fs300.inputs));
    // Injection: one addPath at a time into a running builder.
    const per: number[] = [];
    await tixBuild(fsInj, true, fsInj.inputs, async (sb) => {
      for (const p of fsInj.inj) {
        const t = performance.now();
        await sb.addPath(p);
        per.push(performance.now() - t);
      }
      writeFileSync(join(fsInj.dir, 'build', 'stop'), '');
    }, 'while [ ! -e /build/stop ]; do sleep 0.01; done; echo x > $out');
    return { off, on, off300, on300, inject: mean(per) };
  } finally {
    for (const f of [fs1, fs300, fsInj]) rmSync(f.dir, { recursive: true, force: true });
  }
}

// ---------- reference: end to end with --option sandbox true|false ----------

function ref(root: NixRoot, prog: string, args: string[]): string {
  const r = spawnSync(join(REF_BIN, prog), args, { env: root.env, cwd: root.dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${prog} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function refTime(root: NixRoot, drv: string, sandbox: boolean): number {
  const xs: number[] = [];
  const args = ['--realise', '--check', drv, '--option', 'sandbox', String(sandbox), '--quiet'];
  ref(root, 'nix-store', args);
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    ref(root, 'nix-store', args);
    xs.push(performance.now() - t);
  }
  return mean(xs);
}

function refFigures(): { off: number; on: number; off300: number; on300: number } {
  const root = makeRoot({ conf: `sandbox-paths = ${SANDBOX_PATHS.replace('?', '')}\nsandbox-fallback = false` });
  try {
    const trivial = 'derivation { name = "trivial"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "echo hi > $out"]; }';
    const many = `let srcs = builtins.genList (i: builtins.toFile "in\${toString i}" "content \${toString i}") 300; in
      derivation { name = "many"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "echo hi > $out"]; inherit srcs; }`;
    const d1 = ref(root, 'nix-instantiate', ['--expr', trivial]);
    const d300 = ref(root, 'nix-instantiate', ['--expr', many]);
    ref(root, 'nix-store', ['--realise', d1, '--quiet']);
    ref(root, 'nix-store', ['--realise', d300, '--quiet']);
    return { off: refTime(root, d1, false), on: refTime(root, d1, true), off300: refTime(root, d300, false), on300: refTime(root, d300, true) };
  } finally {
    root.cleanup();
  }
}

async function main(): Promise<void> {
  const avail = sandboxAvailability();
  if (!avail.ok) throw new Error(`sandbox unavailable: ${avail.reason}`);
  const t = await tixFigures();
  const r = refFigures();
  const f = (x: number): string => `${x.toFixed(1)} ms`;
  const tixOver = t.on - t.off;
  const refOver = r.on - r.off;
  const tixOver300 = t.on300 - t.off300;
  const refOver300 = r.on300 - r.off300;
  console.log(`rounds: ${ROUNDS} (10% trimmed means), ${avail.tools.root ? 'root' : 'non-root'}, store view: ${viewMode}`);
  console.log(`trivial build   tix: off ${f(t.off)}, on ${f(t.on)}, overhead ${f(tixOver)} | reference: off ${f(r.off)}, on ${f(r.on)}, overhead ${f(refOver)} | ratio ${(tixOver / refOver).toFixed(2)}`);
  console.log(`300 inputs      tix: off ${f(t.off300)}, on ${f(t.on300)}, overhead ${f(tixOver300)} | reference: off ${f(r.off300)}, on ${f(r.on300)}, overhead ${f(refOver300)} | ratio ${(tixOver300 / refOver300).toFixed(2)}`);
  console.log(`one injection   tix: ${f(t.inject)} per addPath (running builder, 100 paths one at a time)`);
}

await main();

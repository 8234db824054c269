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

function fakeStore(nInputs: number, nInj: number, files = false): FakeStore {
  const dir = mkdtempSync(join(tmpdir(), 'tix-sb-bench-'));
  chmodSync(dir, 0o755);
  const store = join(dir, 'store');
  mkdirSync(store);
  const mk = (i: number, tag: string): string => {
    const hash = (tag + String(i).padStart(31, '0')).slice(0, 32).replace(/[^0-9a-z]/g, '0');
    const p = join(store, `${hash}-p${i}`);
    if (files) {
      writeFileSync(p, `content ${i}\n`);
    } else {
      mkdirSync(p);
      writeFileSync(join(p, 'f'), `content ${i}\n`);
    }
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

/** Mean time of `a` and of `b`, rounds interleaved so machine noise hits both alike. */
async function timePair(rounds: number, a: () => Promise<void>, b: () => Promise<void>): Promise<[number, number]> {
  await a();
  await b(); // warm-up
  const xa: number[] = [];
  const xb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await a();
    xa.push(performance.now() - t);
    t = performance.now();
    await b();
    xb.push(performance.now() - t);
  }
  return [mean(xa), mean(xb)];
}

interface Pair {
  off: number;
  on: number;
}

async function tixFigures(): Promise<{ trivial: Pair; dirs300: Pair; files300: Pair; inject: number }> {
  const fs1 = fakeStore(1, 0);
  const fsDirs = fakeStore(300, 0);
  const fsFiles = fakeStore(300, 0, true);
  const fsInj = fakeStore(1, 100);
  try {
    const pair = async (fs: FakeStore): Promise<Pair> => {
      const [off, on] = await timePair(ROUNDS, () => tixBuild(fs, false, fs.inputs), () => tixBuild(fs, true, fs.inputs));
      return { off, on };
    };
    const trivial = await pair(fs1);
    const dirs300 = await pair(fsDirs);
    const files300 = await pair(fsFiles);
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
    return { trivial, dirs300, files300, inject: mean(per) };
  } finally {
    for (const f of [fs1, fsDirs, fsFiles, fsInj]) rmSync(f.dir, { recursive: true, force: true });
  }
}

// ---------- reference: end to end with --option sandbox true|false ----------

function ref(root: NixRoot, prog: string, args: string[]): string {
  const r = spawnSync(join(REF_BIN, prog), args, { env: root.env, cwd: root.dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${prog} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function refPair(root: NixRoot, drv: string): Pair {
  const args = (sb: boolean): string[] => ['--realise', '--check', drv, '--option', 'sandbox', String(sb), '--quiet'];
  ref(root, 'nix-store', args(false));
  ref(root, 'nix-store', args(true));
  const xa: number[] = [];
  const xb: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    ref(root, 'nix-store', args(false));
    xa.push(performance.now() - t);
    t = performance.now();
    ref(root, 'nix-store', args(true));
    xb.push(performance.now() - t);
  }
  return { off: mean(xa), on: mean(xb) };
}

function refFigures(): { trivial: Pair; dirs300: Pair; files300: Pair } {
  const root = makeRoot({ conf: `sandbox-paths = ${SANDBOX_PATHS.replace('?', '')}\nsandbox-fallback = false` });
  try {
    const src = join(root.dir, 'src');
    for (let i = 0; i < 300; i++) {
      mkdirSync(join(src, `d${i}`), { recursive: true });
      writeFileSync(join(src, `d${i}`, 'f'), `content ${i}\n`);
    }
    const drv = (name: string, extra: string): string =>
      `derivation { name = "${name}"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "echo hi > $out"]; ${extra} }`;
    const trivial = drv('trivial', '');
    const files = `let srcs = builtins.genList (i: builtins.toFile "in\${toString i}" "content \${toString i}") 300; in ${drv('files', 'inherit srcs;')}`;
    const dirs = `let srcs = builtins.genList (i: builtins.path { path = ${src} + "/d\${toString i}"; name = "d\${toString i}"; }) 300; in ${drv('dirs', 'inherit srcs;')}`;
    const out: Record<string, Pair> = {};
    for (const [k, e] of [['trivial', trivial], ['files300', files], ['dirs300', dirs]] as const) {
      const d = ref(root, 'nix-instantiate', ['--expr', e]);
      ref(root, 'nix-store', ['--realise', d, '--quiet']);
      out[k] = refPair(root, d);
    }
    return { trivial: out.trivial!, files300: out.files300!, dirs300: out.dirs300! };
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
  console.log(`rounds: ${ROUNDS} interleaved (10% trimmed means), ${avail.tools.root ? 'root' : 'non-root'}, store view: ${viewMode}`);
  for (const [label, k] of [['trivial build', 'trivial'], ['300 dir inputs', 'dirs300'], ['300 file inputs', 'files300']] as const) {
    const a = t[k];
    const b = r[k];
    const ta = a.on - a.off;
    const tb = b.on - b.off;
    console.log(`${label.padEnd(16)} tix: off ${f(a.off)}, on ${f(a.on)}, overhead ${f(ta)} | reference: off ${f(b.off)}, on ${f(b.on)}, overhead ${f(tb)} | overhead ratio tix/ref ${(ta / tb).toFixed(2)}`);
  }
  console.log(`one injection    tix: ${f(t.inject)} per addPath (running builder, 100 paths one at a time)`);
}

await main();

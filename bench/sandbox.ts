/**
 * Sandbox benchmarks (issue 7): per-build overhead of the sandbox (trivial
 * build, sandbox on against off), a build with 300 inputs, and the cost of
 * one injection; the reference Nix 2.8 runs the same builds with
 * `--option sandbox true|false` so the overheads compare directly.
 *
 *   node dist/bench/sandbox.js [rounds=15]
 *
 * tix's figure is the sandbox layer itself (createSandbox → spawn → exit →
 * destroy, against the builder's own unsandboxed runner, `directSandbox`,
 * which starts builders through its persistent spawn helper), which is what the
 * sandbox adds to a build; the reference's is end to end (`nix-store
 * --realise --check`), whose difference is likewise what its sandbox adds.
 * The four variants of a case (tix off/on, reference off/on) run interleaved
 * in every round, in a rotating order, so load from other work on the machine
 * hits them alike; the load average is printed with the figures. What tix
 * pays once per process (the availability probe) is printed apart.
 *
 * By default a sandboxed build leaves an idle helper started for the next one
 * (helper-pool.ts); the bench waits for it outside the timing, so the figures
 * are those of a build that finds its helper up (every build but the first of
 * a process). `TIX_SANDBOX_WARM=0` measures builds that start their own.
 * The native helper (dist/native/tix-sandbox, built by scripts/setup.sh) is
 * used when present; `TIX_SANDBOX_NATIVE=0` measures the perl + bubblewrap
 * fallback. The first line says which ran.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync, rmSync, mkdtempSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../src/core/index.js';
import { createSandbox, sandboxAvailability, resetAvailability, idleHelperPid, type Sandbox } from '../src/build/sandbox/index.js';
import { directSandbox } from '../src/build/builder/direct.js';
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
    : directSandbox(build); // what an unsandboxed build runs (through the builder's spawn helper)
  const child = await sb.spawn({ builder: '/bin/sh', args: ['-c', script], env: { out, PATH: '/usr/bin:/bin' }, cwd: sb.buildDirInSandbox });
  child.output.resume();
  if (during) await during(sb);
  viewMode = (sb as { viewMode?: string }).viewMode ?? viewMode;
  const st = await child.exited;
  await sb.destroy();
  if (st.code !== 0) throw new Error(`bench builder failed: ${JSON.stringify(st)}`);
}

interface Pair {
  off: number;
  on: number;
  /** Fastest rounds: the figure least disturbed by other load on the machine. */
  offMin: number;
  onMin: number;
}

/**
 * With the idle helper on, a sandboxed build leaves one started for the next
 * build; wait (untimed) until it and what it started ahead (the native
 * helper's sandbox process) are up and blocked on their job, so that start-up
 * lands in no variant's time.
 */
async function settle(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  const pid = idleHelperPid();
  if (pid === undefined) return;
  const blocked = (p: number): boolean => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('S ');
    } catch {
      return true; // gone
    }
  };
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  for (let i = 0; i < 2000; i++) {
    // The native helper clones its sandbox process before it blocks; that one blocks on its job last.
    const kids = children(pid);
    if (blocked(pid) && (kids.length > 0 || !isNativeHelper(pid)) && kids.every(blocked)) return;
    await sleep(0.2);
  }
}

function isNativeHelper(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').startsWith('tix-sandbox');
  } catch {
    return false;
  }
}

/** The variants of one case, timed in rounds; each round runs all of them in a rotated order. */
async function timeInterleaved(rounds: number, variants: Array<() => Promise<void> | void>): Promise<number[][]> {
  for (const v of variants) {
    await v(); // warm-up
    await settle();
  }
  const times: number[][] = variants.map(() => []);
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < variants.length; j++) {
      const k = (i + j) % variants.length;
      const t = performance.now();
      await variants[k]!();
      times[k]!.push(performance.now() - t);
      await settle();
    }
  }
  return times;
}

function pair(off: number[], on: number[]): Pair {
  return { off: mean(off), on: mean(on), offMin: Math.min(...off), onMin: Math.min(...on) };
}

// ---------- reference: end to end with --option sandbox true|false ----------

function ref(root: NixRoot, prog: string, args: string[]): string {
  const r = spawnSync(join(REF_BIN, prog), args, { env: root.env, cwd: root.dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${prog} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const refCheck = (root: NixRoot, drv: string, sb: boolean) => (): void => {
  ref(root, 'nix-store', ['--realise', '--check', drv, '--option', 'sandbox', String(sb), '--quiet']);
};

/** The reference's three derivations (trivial, 300 dir inputs, 300 file inputs), built once. */
function refDrvs(root: NixRoot): { trivial: string; dirs300: string; files300: string } {
  const src = join(root.dir, 'src');
  for (let i = 0; i < 300; i++) {
    mkdirSync(join(src, `d${i}`), { recursive: true });
    writeFileSync(join(src, `d${i}`, 'f'), `content ${i}\n`);
  }
  const drv = (name: string, extra: string): string =>
    `derivation { name = "${name}"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "echo hi > $out"]; ${extra} }`;
  const exprs = {
    trivial: drv('trivial', ''),
    files300: `let srcs = builtins.genList (i: builtins.toFile "in\${toString i}" "content \${toString i}") 300; in ${drv('files', 'inherit srcs;')}`,
    dirs300: `let srcs = builtins.genList (i: builtins.path { path = ${src} + "/d\${toString i}"; name = "d\${toString i}"; }) 300; in ${drv('dirs', 'inherit srcs;')}`,
  };
  const out: Record<string, string> = {};
  for (const [k, e] of Object.entries(exprs)) {
    const d = ref(root, 'nix-instantiate', ['--expr', e]);
    ref(root, 'nix-store', ['--realise', d, '--quiet']);
    out[k] = d;
  }
  return out as { trivial: string; dirs300: string; files300: string };
}

type CaseName = 'trivial' | 'dirs300' | 'files300';

async function figures(): Promise<{ tix: Record<CaseName, Pair>; ref: Record<CaseName, Pair>; inject: number }> {
  const stores: Record<CaseName, FakeStore> = { trivial: fakeStore(1, 0), dirs300: fakeStore(300, 0), files300: fakeStore(300, 0, true) };
  const fsInj = fakeStore(1, 100);
  const root = makeRoot({ conf: `sandbox-paths = ${SANDBOX_PATHS.replace('?', '')}\nsandbox-fallback = false` });
  try {
    const drvs = refDrvs(root);
    const tix = {} as Record<CaseName, Pair>;
    const refs = {} as Record<CaseName, Pair>;
    for (const k of ['trivial', 'dirs300', 'files300'] as const) {
      const fs = stores[k];
      const [tOff, tOn, rOff, rOn] = await timeInterleaved(ROUNDS, [
        () => tixBuild(fs, false, fs.inputs),
        () => tixBuild(fs, true, fs.inputs),
        refCheck(root, drvs[k], false),
        refCheck(root, drvs[k], true),
      ]);
      tix[k] = pair(tOff!, tOn!);
      refs[k] = pair(rOff!, rOn!);
    }
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
    return { tix, ref: refs, inject: mean(per) };
  } finally {
    root.cleanup();
    for (const f of [...Object.values(stores), fsInj]) rmSync(f.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  let t = performance.now();
  resetAvailability();
  const avail = sandboxAvailability();
  const probeMs = performance.now() - t;
  if (!avail.ok) throw new Error(`sandbox unavailable: ${avail.reason}`);
  t = performance.now();
  const f = await figures();
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  const warm = process.env.TIX_SANDBOX_WARM !== '0';
  console.log(`rounds: ${ROUNDS}, variants interleaved (10% trimmed means), ${avail.tools.root ? 'root' : 'non-root'}, ${avail.tools.native ? 'native helper' : 'perl + bwrap'}, store view: ${viewMode}, helper: ${warm ? 'warm (started after the previous build, untimed)' : 'cold (TIX_SANDBOX_WARM=0: started by each build)'}; load average ${load0.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  for (const [label, k] of [['trivial build', 'trivial'], ['300 dir inputs', 'dirs300'], ['300 file inputs', 'files300']] as const) {
    const a = f.tix[k];
    const b = f.ref[k];
    const ta = a.on - a.off;
    const tb = b.on - b.off;
    console.log(`${label.padEnd(16)} tix: off ${ms(a.off)}, on ${ms(a.on)}, overhead ${ms(ta)} | reference: off ${ms(b.off)}, on ${ms(b.on)}, overhead ${ms(tb)} | overhead ratio tix/ref ${(ta / tb).toFixed(2)}`);
    const ma = a.onMin - a.offMin;
    const mb = b.onMin - b.offMin;
    console.log(`${''.padEnd(16)} fastest rounds: tix overhead ${ms(ma)}, reference ${ms(mb)}, ratio ${(ma / mb).toFixed(2)}`);
  }
  console.log(`one injection    tix: ${ms(f.inject)} per addPath (running builder, 100 paths one at a time)`);
  console.log(`once per process tix: ${ms(probeMs)} (availability probe, spawns unshare; then remembered for the boot in <store>/.tix-sandbox)`);
}

await main();

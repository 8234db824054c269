/**
 * Nothing of a sandboxed build stays behind: after success and failure (also
 * checked over the whole builder set by sandbox-buildset.test.ts), when tix is
 * interrupted (SIGTERM, SIGINT), and when tix is SIGKILLed, in which case the
 * next tix start that builds in the same store removes the dead build's
 * `<drv>.chroot` and its owner record. A live owner's chroot is never swept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeRoot, runRef, runTix, haveReference, TIX_BIN, type NixRoot } from '../harness/index.js';
import { sandboxAvailability, sweepDeadChroots, resetSweep } from '../../src/build/sandbox/index.js';
import { processesWith } from './sandbox-scenarios.js';

const CONF = ['sandbox = true', 'sandbox-fallback = false', 'sandbox-paths = /bin/sh=/bin/bash /bin/bash /usr /lib /lib64'].join('\n');

const avail = sandboxAvailability();
const skip = !haveReference() ? 'no reference Nix (instantiates the derivations)' : !avail.ok ? `sandbox unavailable: ${avail.reason}` : false;

/** What a build may leave: `<drv>.chroot` dirs, owner records, build dirs. */
function leftovers(root: NixRoot, tmp: string): string[] {
  const store = root.env.NIX_STORE_DIR!;
  const out = readdirSync(store).filter((n) => n.endsWith('.chroot')).map((n) => `chroot ${n}`);
  const active = join(store, '.tix-sandbox', 'active');
  if (existsSync(active)) out.push(...readdirSync(active).map((n) => `record ${n}`));
  const trash = join(store, '.tix-sandbox', 'trash');
  if (existsSync(trash)) out.push(...readdirSync(trash).map((n) => `trash ${n}`));
  out.push(...readdirSync(tmp).map((n) => `build dir ${n}`));
  return out.sort();
}

function instantiate(root: NixRoot, name: string, script: string): string {
  const expr = `derivation { name = "${name}"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" ${JSON.stringify(`export PATH=/usr/bin; ${script}`)}]; }`;
  const r = runRef(root, 'nix-instantiate', ['--expr', expr]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** Start tix building `drv`, wait until the builder runs, send `sig`, wait for tix to exit. */
async function interrupt(root: NixRoot, tmp: string, drv: string, sig: NodeJS.Signals, marker: string): Promise<number | null> {
  const child = spawn(join(TIX_BIN, 'nix-store'), ['--realise', drv], { env: { ...root.env, TMPDIR: tmp }, stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.on('exit', (code, s) => r(code ?? (s ? 128 : null))));
  for (let i = 0; i < 1000 && processesWith(marker).length === 0; i++) await sleep(10);
  assert.ok(processesWith(marker).length > 0, 'the builder never started');
  child.kill(sig);
  const code = await exited;
  for (let i = 0; i < 200 && processesWith(marker).length > 0; i++) await sleep(10);
  return code;
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  test(`tix interrupted by ${sig}: the sandbox is gone and nothing is left behind`, { skip }, async () => {
    const base = mkdtempSync(join(tmpdir(), 'tix-sbclean-'));
    try {
      mkdirSync(join(base, 'r'));
      const root = makeRoot({ dir: join(base, 'r'), conf: CONF });
      const tmp = join(base, 'tmp');
      mkdirSync(tmp);
      const marker = `7070.${process.pid}${sig.length}`;
      const drv = instantiate(root, 'hang', `M=${marker.replace('.', '.""')}; sleep $M & sleep $M`);
      const code = await interrupt(root, tmp, drv, sig, marker);
      assert.notEqual(code, 0);
      assert.deepEqual(processesWith(marker), [], 'builder processes survived');
      assert.deepEqual(leftovers(root, tmp), []);
      root.cleanup();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
}

test('tix SIGKILLed mid-build: the next tix start removes the dead build\'s chroot and record', { skip }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-sbclean-'));
  try {
    mkdirSync(join(base, 'r'));
      const root = makeRoot({ dir: join(base, 'r'), conf: CONF });
    const tmp = join(base, 'tmp');
    mkdirSync(tmp);
    const marker = `7071.${process.pid}`;
    const drv = instantiate(root, 'hang', `M=${marker.replace('.', '.""')}; mkdir -p $out/d; echo partial > $out/d/f; chmod -R a-w $out; sleep $M`);
    await interrupt(root, tmp, drv, 'SIGKILL', marker);
    assert.deepEqual(processesWith(marker), [], 'builder processes survived tix');
    const left = leftovers(root, tmp).filter((l) => !l.startsWith('build dir')); // 2.8 leaves the build dir too
    assert.deepEqual(left.map((l) => l.split(' ')[0]), ['chroot', 'record'], 'the crash leaves a chroot and its record');
    const other = instantiate(root, 'other', 'echo ok > $out');
    const r = runTix(root, 'nix-store', ['--realise', other], { env: { TMPDIR: tmp }, timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(leftovers(root, tmp).filter((l) => !l.startsWith('build dir')), []);
    root.cleanup();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('the sweep takes dead owners\' chroots only', () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-sbclean-'));
  try {
    const store = join(base, 'store');
    const shared = join(store, '.tix-sandbox');
    mkdirSync(join(shared, 'active'), { recursive: true });
    const dead = spawnSync('/bin/true').pid!; // a pid that has exited
    const owners: Record<string, string> = {
      [`${'a'.repeat(32)}-live.drv`]: `${process.pid} ?`,
      [`${'b'.repeat(32)}-dead.drv`]: `${dead} 1`,
      [`${'c'.repeat(32)}-recycled.drv`]: `${process.pid} 1`, // our pid, another start time
    };
    for (const [id, owner] of Object.entries(owners)) {
      writeFileSync(join(shared, 'active', id), owner + '\n');
      mkdirSync(join(store, `${id}.chroot`, 'x'), { recursive: true });
      chmodSync(join(store, `${id}.chroot`, 'x'), 0o555);
    }
    resetSweep();
    sweepDeadChroots(store, shared);
    assert.deepEqual(readdirSync(store).filter((n) => n.endsWith('.chroot')), [`${'a'.repeat(32)}-live.drv.chroot`]);
    assert.deepEqual(readdirSync(join(shared, 'active')), [`${'a'.repeat(32)}-live.drv`]);
  } finally {
    spawnSync('chmod', ['-R', 'u+w', base]);
    rmSync(base, { recursive: true, force: true });
  }
});

/**
 * An output whose store path exists already stays in the chroot for the
 * caller (`outputLocation`) after `destroy`, and goes when tix exits.
 */
test('an output kept for outputLocation is removed when the process exits', { skip: !avail.ok && `sandbox unavailable` }, () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-sbclean-'));
  chmodSync(base, 0o755);
  try {
    const store = join(base, 'store');
    mkdirSync(join(base, 'build'), { recursive: true });
    mkdirSync(store);
    const out = join(store, `${'d'.repeat(32)}-out`);
    const program = `
      import { Settings } from ${JSON.stringify(new URL('../../src/core/index.js', import.meta.url).href)};
      import { createSandbox } from ${JSON.stringify(new URL('../../src/build/sandbox/index.js', import.meta.url).href)};
      import { existsSync, writeFileSync, readFileSync } from 'node:fs';
      const settings = new Settings();
      settings.set('sandbox-paths', '/bin/sh=/bin/bash /bin/bash /usr /lib /lib64?');
      const sb = await createSandbox({ drvPath: ${JSON.stringify(join(store, `${'e'.repeat(32)}-k.drv`))}, storeDir: ${JSON.stringify(store)},
        buildDir: ${JSON.stringify(join(base, 'build'))}, inputClosure: new Set(), outputs: new Map([['out', ${JSON.stringify(out)}]]),
        network: false, noChroot: false, settings, requiredSystemFeatures: [] });
      const child = await sb.spawn({ builder: '/bin/sh', args: ['-c', 'echo new > $out'], env: { out: ${JSON.stringify(out)} }, cwd: sb.buildDirInSandbox });
      child.output.resume();
      await child.exited;
      writeFileSync(${JSON.stringify(out)}, 'old\\n'); // the path became valid meanwhile
      await sb.destroy();
      const loc = sb.outputLocation(${JSON.stringify(out)});
      console.log(JSON.stringify({ loc, content: readFileSync(loc, 'utf8'), kept: existsSync(loc) }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { loc: string; content: string; kept: boolean };
    assert.ok(res.loc.startsWith(join(store, `${'e'.repeat(32)}-k.drv.chroot`)), res.loc);
    assert.equal(res.content, 'new\n');
    assert.ok(res.kept);
    assert.deepEqual(readdirSync(store).filter((n) => n.endsWith('.chroot')), [], 'chroot left after exit');
    assert.deepEqual(readdirSync(join(store, '.tix-sandbox', 'active')), [], 'owner record left after exit');
  } finally {
    spawnSync('chmod', ['-R', 'u+w', base]);
    rmSync(base, { recursive: true, force: true });
  }
});

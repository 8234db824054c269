/**
 * The warm-process launcher (bin/tix + src/cli/launch): a command run through
 * the pool must be indistinguishable from one Node runs itself — exit status,
 * stdio (pipes, files, O_APPEND, shared offsets), stdin, cwd, environment,
 * umask, signals — and every failure before the job starts must fall back to
 * running the command directly.
 *
 * Each test uses a private copy of bin/ and of the bundle's entry files (a
 * build id of its own, immune to concurrent rebuilds of dist/) and a private
 * pool directory, so no pool the rest of the suite uses is touched. Which way
 * a command went is read from TIX_SERVER_TRACE ("pool <job pid>" or
 * "direct <reason>"); TIX_SERVER=require makes any fallback an error.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync,
  utimesSync, writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRoot, REPO_ROOT } from './harness/roots.js';
import { blobFileName } from '../src/cli/launch/snapshot-blob.js';

const PROGRAMS = ['nix', 'nix-build', 'nix-daemon', 'nix-hash', 'nix-instantiate', 'nix-store'];
const bundleDir = join(REPO_ROOT, 'dist', 'bundle');
const haveBundle = existsSync(join(bundleDir, 'launch.js')) && existsSync(join(bundleDir, 'main.js'));
const linuxArch = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');
const skip = !haveBundle ? 'no dist/bundle (esbuild not installed?)' : !linuxArch ? 'pool is Linux x86_64/aarch64 only' : false;

const base = mkdtempSync(join(tmpdir(), 'tix-launch-'));
after(() => {
  // Removing a pool's socket makes its manager exit within a second.
  spawnSync('chmod', ['-R', 'u+w', base]);
  rmSync(base, { recursive: true, force: true });
});

/** A private install: bin/ copied, dist/bundle entries copied (own build id), the rest linked. */
function makeInstall(name: string): { bin: string; rebuild(): void } {
  const top = join(base, name);
  const bin = join(top, 'bin');
  const bundle = join(top, 'dist', 'bundle');
  mkdirSync(bin, { recursive: true });
  mkdirSync(bundle, { recursive: true });
  copyFileSync(join(REPO_ROOT, 'bin', 'tix'), join(bin, 'tix'));
  copyFileSync(join(REPO_ROOT, 'bin', 'tix-node.mjs'), join(bin, 'tix-node.mjs'));
  for (const p of PROGRAMS) symlinkSync('tix', join(bin, p));
  symlinkSync(join(REPO_ROOT, 'dist', 'src'), join(top, 'dist', 'src'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(top, 'node_modules'));
  writeFileSync(join(top, 'dist', '.tsbuildinfo'), '');
  const entries = ['main.js', 'launch.js'];
  const rebuild = (): void => {
    // Chunks are content-named: link any new ones (in the build's own directory, which a
    // rebuild of dist/bundle leaves in place), then replace the entries.
    const real = realpathSync(bundleDir);
    for (const f of readdirSync(real)) {
      if (!entries.includes(f) && !existsSync(join(bundle, f))) symlinkSync(join(real, f), join(bundle, f));
    }
    for (const f of ['launch.js', 'main.js']) {
      copyFileSync(join(real, f), join(bundle, `${f}.tmp`));
      renameSync(join(bundle, `${f}.tmp`), join(bundle, f));
    }
  };
  rebuild();
  return { bin, rebuild };
}

interface Ctx {
  bin: string;
  poolDir: string;
  trace: string;
  env: NodeJS.ProcessEnv;
}

function makeCtx(name: string): Ctx & { rebuild(): void } {
  const inst = makeInstall(name);
  const poolDir = join(base, name, 'pool');
  mkdirSync(poolDir, { mode: 0o700 });
  const trace = join(base, name, 'trace');
  mkdirSync(join(base, name, 'root'));
  const root = makeRoot({ dir: join(base, name, 'root') });
  const env = { ...root.env, TIX_SERVER_DIR: poolDir, TIX_SERVER_TRACE: trace, TIX_SERVER_IDLE: '60' };
  return { bin: inst.bin, poolDir, trace, env, rebuild: inst.rebuild };
}

function run(c: Ctx, prog: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(join(c.bin, prog), args, { env: { ...c.env, ...opts.env }, input: opts.input, cwd: opts.cwd ?? base, encoding: 'utf8', timeout: 60_000 });
}

function traceLines(c: Ctx): string[] {
  return existsSync(c.trace) ? readFileSync(c.trace, 'utf8').trim().split('\n') : [];
}

function lastTrace(c: Ctx): string {
  return traceLines(c).at(-1) ?? '';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start the pool (first command goes direct) and wait until a command runs through it. */
async function warmPool(c: Ctx): Promise<void> {
  assert.equal(run(c, 'nix-instantiate', ['--eval', '-E', '1']).stdout, '1\n');
  for (let i = 0; i < 600; i++) {
    const r = run(c, 'nix-instantiate', ['--eval', '-E', '2'], { env: { TIX_SERVER: 'require' } });
    if (r.status === 0) {
      assert.match(lastTrace(c), /^pool \d+$/);
      return;
    }
    await sleep(100);
  }
  assert.fail(`the pool did not come up: ${traceLines(c).slice(-3).join(' | ')}`);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 300 && alive(pid); i++) await sleep(50);
  return !alive(pid);
}

async function waitForJobPid(c: Ctx, before: number): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const l = traceLines(c).slice(before).find((x) => x.startsWith('pool '));
    if (l) return Number(l.slice(5));
    await sleep(50);
  }
  throw new Error('no job started');
}

const shared = skip ? undefined : makeCtx('shared');
const REQ = { TIX_SERVER: 'require' };

test('exit codes come back from the job: 0, 1, and a failed build', { skip, timeout: 120_000 }, async () => {
  const c = shared!;
  await warmPool(c);
  assert.equal(run(c, 'nix-instantiate', ['--eval', '-E', '1 + 1'], { env: REQ }).status, 0);
  const r1 = run(c, 'nix-instantiate', ['--eval', '-E', 'throw "boom"'], { env: REQ });
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /boom/);
  const drv = 'derivation { name = "fails"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "exit 3" ]; }';
  const r2 = run(c, 'nix-build', ['--no-out-link', '-E', drv], { env: REQ });
  const direct = run(c, 'nix-build', ['--no-out-link', '-E', drv], { env: { TIX_SERVER: '0' } });
  assert.notEqual(r2.status, 0);
  assert.equal(r2.status, direct.status, r2.stderr);
  assert.match(lastTrace(c), /^direct TIX_SERVER=0$/);
});

test('stdout and stderr: pipes, a file, >> append, and a shell group sharing the offset', { skip, timeout: 120_000 }, async () => {
  const c = shared!;
  await warmPool(c);
  const r = run(c, 'nix-instantiate', ['--eval', '-E', 'builtins.trace "to-stderr" "to-stdout"'], { env: REQ });
  assert.equal(r.stdout, '"to-stdout"\n');
  assert.match(r.stderr, /trace: to-stderr/);
  const f = join(base, 'shared', 'out.txt');
  const b = join(c.bin, 'nix-instantiate');
  const script = [
    `echo first > ${f}`,
    `{ ${b} --eval -E '"a"'; echo after-a; } >> ${f}`,
    `${b} --eval -E '"b"' >> ${f}`,
    `{ echo before-c; ${b} --eval -E '"c"'; echo after-c; ${b} --eval -E 'builtins.trace "t" "d"'; } > ${f}.2 2>&1`,
    // Closed stdio: the job gets /dev/null there, as Node gives itself.
    `${b} --eval -E 1 >&- <&- && ${b} --eval -E '"e"' <&- >> ${f}.2`,
  ].join('\n');
  const sh = spawnSync('/bin/sh', ['-c', script], { env: { ...c.env, ...REQ }, encoding: 'utf8' });
  assert.equal(sh.status, 0, sh.stderr);
  assert.equal(readFileSync(f, 'utf8'), 'first\n"a"\nafter-a\n"b"\n');
  assert.equal(readFileSync(`${f}.2`, 'utf8'), 'before-c\n"c"\nafter-c\ntrace: t\n"d"\n"e"\n');
});

test('stdin is read by the job; cwd-relative arguments; per-job environment', { skip, timeout: 120_000 }, async () => {
  const c = shared!;
  await warmPool(c);
  const r = run(c, 'nix-instantiate', ['--eval', '-'], { env: REQ, input: '"from " + "stdin"' });
  assert.equal(r.stdout, '"from stdin"\n');
  const dir = join(base, 'shared', 'cwd');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'sub', 'file'), 'hello\n');
  const rel = run(c, 'nix-hash', ['--type', 'sha256', '--flat', 'sub/file'], { env: REQ, cwd: dir });
  const abs = run(c, 'nix-hash', ['--type', 'sha256', '--flat', join(dir, 'sub', 'file')], { env: { TIX_SERVER: '0' } });
  assert.equal(rel.status, 0, rel.stderr);
  assert.equal(rel.stdout, abs.stdout);
  const ev = run(c, 'nix-instantiate', ['--eval', '-E', './.'], { env: REQ, cwd: join(dir, 'sub') });
  assert.equal(ev.stdout, `${join(dir, 'sub')}\n`);
  // Two jobs at once, each with its own NIX_STORE_DIR and a variable only it has.
  const jobs = ['/one/store', '/two/store'].map((sd, i) => new Promise<string>((resolve) => {
    const p = spawn(join(c.bin, 'nix-instantiate'), ['--eval', '-E', 'builtins.storeDir + builtins.getEnv "ONLY"'],
      { env: { ...c.env, ...REQ, NIX_STORE_DIR: sd, ...(i === 0 ? { ONLY: '-first' } : {}) } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => resolve(out));
  }));
  assert.deepEqual(await Promise.all(jobs), ['"/one/store-first"\n', '"/two/store"\n']);
});

test('umask is the client\'s', { skip, timeout: 120_000 }, async () => {
  const c = shared!;
  await warmPool(c);
  const src = join(base, 'shared', 'umask-src');
  mkdirSync(join(src, 'd'), { recursive: true });
  writeFileSync(join(src, 'd', 'f'), 'x');
  const nar = spawnSync(join(c.bin, 'nix-store'), ['--dump', src], { env: { ...c.env, TIX_SERVER: '0' } }).stdout;
  const modes: Record<string, string> = {};
  for (const [um, name] of [['077', 'tight'], ['022', 'loose']] as const) {
    const out = join(base, 'shared', `umask-${name}`);
    const sh = spawnSync('/bin/sh', ['-c', `umask ${um}; exec "$0" --restore "$1"`, join(c.bin, 'nix-store'), out], { env: { ...c.env, ...REQ }, input: nar });
    assert.equal(sh.status, 0, sh.stderr.toString());
    modes[name] = [out, join(out, 'd'), join(out, 'd', 'f')].map((p) => (statSync(p).mode & 0o777).toString(8)).join(' ');
  }
  const direct: Record<string, string> = {};
  for (const [um, name] of [['077', 'tight'], ['022', 'loose']] as const) {
    const out = join(base, 'shared', `umask-direct-${name}`);
    spawnSync('/bin/sh', ['-c', `umask ${um}; exec "$0" --restore "$1"`, join(c.bin, 'nix-store'), out], { env: { ...c.env, TIX_SERVER: '0' }, input: nar });
    direct[name] = [out, join(out, 'd'), join(out, 'd', 'f')].map((p) => (statSync(p).mode & 0o777).toString(8)).join(' ');
  }
  assert.deepEqual(modes, direct);
  assert.notEqual(modes.tight, modes.loose);
});

test('SIGINT to the client stops the job; SIGKILL of the client kills it', { skip, timeout: 120_000 }, async () => {
  const c = shared!;
  await warmPool(c);
  for (const sig of ['SIGINT', 'SIGKILL'] as const) {
    const before = traceLines(c).length;
    // Reads stdin until EOF, which never comes: the job runs until signalled.
    const p = spawn(join(c.bin, 'nix-instantiate'), ['--eval', '-'], { env: { ...c.env, ...REQ }, stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise<NodeJS.Signals | number | null>((r) => p.on('exit', (code, s) => r(s ?? code)));
    const job = await waitForJobPid(c, before);
    assert.ok(alive(job));
    p.kill(sig);
    assert.equal(await exited, sig, `client of ${sig}`);
    assert.ok(await waitGone(job), `job ${job} still runs after ${sig} of its client`);
    p.stdin.destroy();
  }
});

test('20 concurrent clients get their own, unmixed output', { skip, timeout: 180_000 }, async () => {
  const c = shared!;
  await warmPool(c);
  const n = 20;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const p = spawn(join(c.bin, 'nix-instantiate'), ['--eval', '-E', `builtins.concatStringsSep "" (builtins.genList (x: "${i}.") 3000)`], { env: c.env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code, out, err }));
  })));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.equal(r.out, `"${`${i}.`.repeat(3000)}"\n`);
  });
});

test('fallbacks: TIX_SERVER=0, missing and stale sockets, a refused client, another user', { skip, timeout: 180_000 }, async (t) => {
  const c = makeCtx('fallback');
  assert.equal(run(c, 'nix-instantiate', ['--eval', '-E', '1'], { env: { TIX_SERVER: '0' } }).stdout, '1\n');
  assert.equal(lastTrace(c), 'direct TIX_SERVER=0');
  // No socket yet: runs directly (and starts the pool).
  assert.equal(run(c, 'nix-instantiate', ['--eval', '-E', '"missing"']).stdout, '"missing"\n');
  assert.match(lastTrace(c), /^direct connect: No such file or directory$/);
  await warmPool(c);
  // A stale socket (its manager was SIGKILLed; the idle children die with it): direct, then a new pool.
  const { sock, manager } = currentPool(c);
  const children = childrenOf(manager);
  process.kill(manager, 'SIGKILL');
  assert.ok(await waitGone(manager));
  // Idle children die of PDEATHSIG; one still starting exits at its parent check.
  for (const pid of children) assert.ok(await waitGone(pid), `child ${pid} outlived its manager`);
  assert.ok(await waitRefused(sock), 'something still listens on the dead pool\'s socket');
  assert.ok(existsSync(sock));
  const r = run(c, 'nix-instantiate', ['--eval', '-E', '"stale"']);
  assert.equal(r.stdout, '"stale"\n');
  // (A busy flag the dead manager left has the same effect: direct, and a new pool.)
  assert.match(lastTrace(c), /^direct (connect: Connection refused|pool busy)$/);
  await warmPool(c);
  // A client whose credentials differ (same uid, other gid) is refused by the child and runs directly.
  if (process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0) {
    // The manager learns that the previous job took a child only after the job may have ended:
    // a flag it raises just after we looked sends the client direct ('pool busy'); try again.
    for (let i = 0; i < 20; i++) {
      await waitIdleChild(c);
      const g = spawnSync('setpriv', ['--regid', '1', '--clear-groups', '--', join(c.bin, 'nix-instantiate'), '--eval', '-E', '"other gid"'],
        { env: c.env, encoding: 'utf8', cwd: base });
      assert.equal(g.stdout, '"other gid"\n', g.stderr);
      if (lastTrace(c) !== 'direct pool busy') break;
      await sleep(200);
    }
    assert.match(lastTrace(c), /^direct refused: different user$/);
    // Another uid cannot even use the pool directory (0700, ours): it runs directly.
    spawnSync('chmod', ['755', base, join(base, 'fallback')]);
    spawnSync('chmod', ['a+rw', c.trace]);
    const u = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', join(c.bin, 'nix-instantiate'), '--eval', '-E', '"nobody"'],
      { env: { ...c.env, HOME: '/nonexistent' }, encoding: 'utf8', cwd: '/' });
    assert.equal(u.stdout, '"nobody"\n', u.stderr);
    assert.match(lastTrace(c), /^direct pool directory .* is not ours or not mode 0700$/);
  } else {
    t.diagnostic('skipped the other-gid and other-uid cases: they need root and setpriv');
  }
  // A pool directory others could write to is not used.
  const other = join(base, 'fallback', 'pool-open');
  mkdirSync(other, { mode: 0o755 });
  spawnSync('chmod', ['755', other]);
  assert.equal(run(c, 'nix-instantiate', ['--eval', '-E', '3'], { env: { TIX_SERVER_DIR: other } }).stdout, '3\n');
  assert.match(lastTrace(c), /not ours or not mode 0700/);
});

test('a rebuild uses a new pool; the old manager exits', { skip, timeout: 180_000 }, async () => {
  const c = makeCtx('rebuild');
  await warmPool(c);
  const oldSock = currentPool(c).sock;
  c.rebuild();
  const r = run(c, 'nix-instantiate', ['--eval', '-E', '"new"']);
  assert.equal(r.stdout, '"new"\n');
  assert.match(lastTrace(c), /^direct connect: No such file or directory$/);
  for (let i = 0; i < 100 && existsSync(oldSock); i++) await sleep(100);
  assert.ok(!existsSync(oldSock), 'the old pool still serves after the rebuild');
  await warmPool(c);
  assert.notEqual(currentPool(c).sock, oldSock);
});

/** Wait until the pool has an idle child (no `<id>.busy` flag), so a client connects instead of running directly. */
async function waitIdleChild(c: Ctx): Promise<void> {
  for (let i = 0; i < 600 && readdirSync(c.poolDir).some((f) => f.endsWith('.busy')); i++) await sleep(50);
}

/** Wait until nothing listens on `sock` (a child forked just before its manager died may still be starting). */
async function waitRefused(sock: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const refused = await new Promise<boolean>((resolve) => {
      const c = createConnection(sock);
      c.on('connect', () => {
        c.destroy();
        resolve(false);
      });
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
    await sleep(50);
  }
  return false;
}

/** Pids of the warm children of a manager (their command line names it). */
function childrenOf(manager: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // `launch.js child <pid>`, or `--snapshot-blob B __tix_child <pid>`.
      if (readFileSync(`/proc/${d}/cmdline`, 'latin1').endsWith(`child\0${manager}\0`)) out.push(Number(d));
    } catch {
      // exited
    }
  }
  return out;
}

/** The pool's socket (after warmPool) and its manager's pid (from the manager's log). */
function currentPool(c: Ctx): { sock: string; manager: number } {
  const socks = readdirSync(c.poolDir).filter((f) => f.endsWith('.sock'));
  assert.equal(socks.length, 1, socks.join(' '));
  const log = readFileSync(join(c.poolDir, socks[0]!.replace(/\.sock$/, '.log')), 'utf8');
  const m = /tix-pool manager (\d+): serving/.exec(log);
  assert.ok(m, log);
  return { sock: join(c.poolDir, socks[0]!), manager: Number(m[1]) };
}

/** --stack-size bin/tix passes here (RLIMIT_STACK less 1 MiB), as it names the blob. */
function stackKb(): number | undefined {
  const s = spawnSync('/bin/sh', ['-c', 'ulimit -s'], { encoding: 'utf8' }).stdout.trim();
  const kb = s === 'unlimited' ? 65536 : Math.min(Number(s), 65536);
  return kb >= 3072 ? kb - 1024 : undefined;
}

/** The repo's startup snapshot for this node and stack, copied into an install after its main.js (so not older). */
function installBlob(c: Ctx): string {
  const name = blobFileName(stackKb()!, process.execPath);
  const src = join(realpathSync(bundleDir), name);
  assert.ok(existsSync(src), `npm run build made no startup snapshot ${name} (see scripts/snapshot.mjs)`);
  const dst = join(c.bin, '..', 'dist', 'bundle', name);
  if (existsSync(dst)) unlinkSync(dst);
  copyFileSync(src, dst);
  return dst;
}

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
}

const snapSkip = skip || (stackKb() === undefined ? 'stack limit below 3 MiB: bin/tix passes no --stack-size, no snapshot' : false);

test('direct commands start from the startup snapshot: stdin, exit status, the eval worker', { skip: snapSkip, timeout: 120_000 }, async () => {
  const c = makeCtx('snapshot');
  const blob = installBlob(c);
  const D = { TIX_SERVER: '0' };
  // A job that waits for stdin: its process is Node started from the blob, not from a script.
  const p = spawn(join(c.bin, 'nix-instantiate'), ['--eval', '-'], { env: { ...c.env, ...D }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((r) => p.on('close', r));
  for (let i = 0; i < 100 && !cmdline(p.pid!).includes('--snapshot-blob'); i++) await sleep(20);
  const cl = cmdline(p.pid!);
  assert.match(cl, new RegExp(`--snapshot-blob \\S*${blob.split('/').at(-1)!.replace(/\./g, '\\.')} \\S*/nix-instantiate --eval -`), cl);
  assert.doesNotMatch(cl, /tix-node\.mjs/);
  p.stdin.end('"from " + "stdin"');
  assert.equal(await done, 0);
  assert.equal(out, '"from stdin"\n');
  assert.equal(lastTrace(c), 'direct TIX_SERVER=0 (snapshot)');
  const bad = run(c, 'nix-instantiate', ['--eval', '-E', 'throw "boom"'], { env: D });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /boom/);
  // Deeper than the main thread's stack: re-run on the eval worker (eval-worker.js beside the blob).
  const deep = run(c, 'nix-instantiate', ['--eval', '-E', 'let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100000'], { env: D });
  assert.equal(deep.stdout, '100000\n', deep.stderr);
  assert.equal(lastTrace(c), 'direct TIX_SERVER=0 (snapshot)');
  // The uid is read when the command runs, not when the blob was built (a store add canonicalises ownership as root only).
  const f = join(base, 'snapshot', 'file');
  writeFileSync(f, 'x\n');
  const add = run(c, 'nix-store', ['--add', f], { env: D });
  assert.equal(add.status, 0, add.stderr);
  assert.equal(statSync(add.stdout.trim()).uid, process.getuid!());
});

test('the pool\'s children start from the snapshot', { skip: snapSkip, timeout: 120_000 }, async () => {
  const c = makeCtx('snapshot-pool');
  const blob = installBlob(c);
  await warmPool(c);
  const { manager } = currentPool(c);
  const kids = childrenOf(manager);
  assert.ok(kids.length > 0);
  for (const k of kids) assert.match(cmdline(k), new RegExp(`--snapshot-blob \\S+${blob.split('/').at(-1)!.replace(/\./g, '\\.')} __tix_child ${manager}`));
  const args = ['--type', 'sha256', '--to-base32', '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'];
  const r = run(c, 'nix-hash', args, { env: REQ });
  assert.match(lastTrace(c), /^pool \d+$/);
  const plain = run(c, 'nix-hash', args, { env: { TIX_SERVER: '0', TIX_SNAPSHOT: '0' } });
  assert.equal(lastTrace(c), 'direct TIX_SERVER=0');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, plain.stdout);
});

test('no snapshot when it does not match: stale blob, other stack size or CPU, NODE_OPTIONS, TIX_SNAPSHOT=0, TIX_BUNDLE=0', { skip: snapSkip, timeout: 120_000 }, () => {
  const c = makeCtx('snapshot-fallback');
  const blob = installBlob(c);
  const D = { TIX_SERVER: '0' };
  const ev = (env: NodeJS.ProcessEnv): string => {
    const r = run(c, 'nix-instantiate', ['--eval', '-E', '6 * 7'], { env: { ...D, ...env } });
    assert.equal(r.stdout, '42\n', r.stderr);
    return lastTrace(c).replace('direct TIX_SERVER=0', '');
  };
  assert.equal(ev({}), ' (snapshot)');
  // A blob built for another stack size does not load (Node would exit 14): its name does not match.
  const sh = spawnSync('/bin/sh', ['-c', 'ulimit -s 12345 && exec "$0" --eval -E "6 * 7"', join(c.bin, 'nix-instantiate')], { env: { ...c.env, ...D }, encoding: 'utf8' });
  assert.equal(sh.stdout, '42\n', sh.stderr);
  assert.equal(lastTrace(c), 'direct TIX_SERVER=0');
  assert.equal(ev({ NODE_OPTIONS: '--max-old-space-size=900' }), '');
  assert.equal(ev({ TIX_SNAPSHOT: '0' }), '');
  assert.equal(ev({ TIX_BUNDLE: '0' }), '');
  // Built on a CPU with other features (V8 would refuse the blob): its .cpu flags differ.
  const cpu = `${blob}.cpu`;
  const flags = readFileSync(cpu, 'latin1');
  unlinkSync(cpu);
  writeFileSync(cpu, `${flags} not-this-cpu`);
  assert.equal(ev({}), '');
  unlinkSync(cpu);
  writeFileSync(cpu, flags);
  assert.equal(ev({}), ' (snapshot)');
  // Older than the bundle's main.js: left over from a previous build.
  const old = statSync(blob).mtimeMs / 1000 - 10;
  utimesSync(blob, old, old);
  assert.equal(ev({}), '');
});

test('no module captures process state when it loads (the startup snapshot is built in another process)', () => {
  // Module top-level code runs while scripts/snapshot.mjs builds the blob: a uid, pid, cwd or
  // environment read there would be the builder's, and SharedArrayBuffer does not exist then.
  const PROCESS_STATE = /\bprocess\.(pid|ppid|getuid|getgid|geteuid|getegid|cwd|env|argv|execArgv|hrtime)\b|\bos\.|\b(hostname|userInfo|homedir|tmpdir|cpus|availableParallelism|randomBytes|randomUUID)\(|new SharedArrayBuffer|Date\.now\(\)|Math\.random\(\)/;
  const DECLARATION = /^(export )?(const|let|var) [^=]+= (.*)$/;
  const FUNCTION = /^(async\s*)?(\([^)]*\)|[\w$]+)\s*=>|^(async\s+)?function\b/;
  // Entries never in the snapshot: the pool's ESM entry and the eval worker thread.
  const NOT_IN_SNAPSHOT = new Set(['cli/launch/entry.js', 'glue/eval-worker.js']);
  const src = join(REPO_ROOT, 'dist', 'src');
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') && !e.name.endsWith('.test.js') && !NOT_IN_SNAPSHOT.has(p.slice(src.length + 1))) {
        readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          const m = DECLARATION.exec(line);
          if (m && !FUNCTION.test(m[3]!) && PROCESS_STATE.test(m[3]!)) found.push(`${p.slice(src.length + 1)}:${i + 1}: ${line}`);
          else if (/^[\w$.]+\(/.test(line) && PROCESS_STATE.test(line)) found.push(`${p.slice(src.length + 1)}:${i + 1}: ${line}`);
        });
      }
    }
  };
  walk(src);
  assert.deepEqual(found, [], 'read it at first use instead');
});

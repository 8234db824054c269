/**
 * Warm children that serve several jobs (child.ts, reuse.ts), end to end
 * through bin/tix: each job must see only its own environment, cwd, config,
 * store and stdio, get its exact output order and exit status, and a job
 * that exits, throws, reads stdin, leaves something open or loses its client
 * must end its process instead of being followed by another job.
 *
 * Two kinds of pool: the real one (the manager and children from the
 * bundle, in a private install and pool directory, as test/launcher.test.ts
 * makes them), and a host this file runs itself (`host` argument): a warm
 * child whose commands are test commands, for the ways a job can end that no
 * whitelisted command takes on purpose (process.exit, an uncaught
 * exception, a leftover timer or fd). Which child served a job is read from
 * TIX_SERVER_TRACE ("reused <pid>" then "pool <pid>").
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BigIntStats } from 'node:fs';
import type { Duplex } from 'node:stream';

const HERE = fileURLToPath(import.meta.url);
/** dist/src/cli/launch → the repository. */
const REPO = resolve(dirname(HERE), '../../../..');

if (process.argv[2] === 'host') {
  await runHost(Number(process.argv[3]));
} else {
  defineTests();
}

/** The test commands of the host: `nix-instantiate --eval <kind> [word]`. */
async function hostCommand(_program: string, args: string[]): Promise<number> {
  const [, kind, word] = args;
  switch (kind) {
    case 'echo':
      process.stdout.write(`${word} ${process.env.ONLY ?? '-'} ${process.cwd()} ${process.umask().toString(8)}\n`);
      process.stderr.write(`to stderr ${word}\n`);
      return Number(process.env.STATUS ?? '0');
    case 'exit':
      process.stdout.write('before exit\n');
      process.exit(7);
    case 'throw':
      setImmediate(() => {
        throw new Error('thrown in a job');
      });
      return new Promise<number>(() => undefined);
    case 'timer':
      setTimeout(() => process.stdout.write('late\n'), 200);
      return 0;
    case 'fd':
      openSync('/dev/null', 'r');
      return 0;
    default:
      return 2;
  }
}

async function runHost(managerPid: number): Promise<void> {
  const { runWarmChild } = await import('./child.js');
  await runWarmChild(managerPid, hostCommand);
}

function defineTests(): void {
  const linuxArch = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');
  const bundle = join(REPO, 'dist', 'bundle');
  const haveBundle = existsSync(join(bundle, 'launch.js')) && existsSync(join(bundle, 'main.js'));
  const skip = !linuxArch ? 'pool is Linux x86_64/aarch64 only' : false;
  const skipReal = skip || (!haveBundle ? 'no dist/bundle (esbuild not installed?)' : false);

  const base = mkdtempSync(join(tmpdir(), 'tix-reuse-'));
  const hosts: ChildProcess[] = [];
  after(() => {
    for (const h of hosts) h.kill('SIGKILL');
    spawnSync('chmod', ['-R', 'u+w', base]);
    rmSync(base, { recursive: true, force: true });
  });
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  /** A private install: bin/ copied, the bundle's entries copied (a build id of its own), chunks linked. */
  function makeInstall(name: string, real: boolean): string {
    const top = join(base, name);
    const bin = join(top, 'bin');
    const dist = join(top, 'dist');
    mkdirSync(bin, { recursive: true });
    mkdirSync(join(dist, 'bundle'), { recursive: true });
    copyFileSync(join(REPO, 'bin', 'tix'), join(bin, 'tix'));
    copyFileSync(join(REPO, 'bin', 'tix-node.mjs'), join(bin, 'tix-node.mjs'));
    for (const p of ['nix', 'nix-build', 'nix-instantiate', 'nix-store']) symlinkSync('tix', join(bin, p));
    writeFileSync(join(dist, '.tsbuildinfo'), '');
    if (real) {
      symlinkSync(join(REPO, 'dist', 'src'), join(dist, 'src'));
      symlinkSync(join(REPO, 'node_modules'), join(top, 'node_modules'));
      const from = realpathSync(bundle);
      for (const f of readdirSync(from)) {
        if (f === 'main.js' || f === 'launch.js') copyFileSync(join(from, f), join(dist, 'bundle', f));
        else if (!f.startsWith('snap-')) symlinkSync(join(from, f), join(dist, 'bundle', f));
      }
    } else {
      // bin/tix only checks that these exist and are newer than the tsc output.
      for (const f of ['main.js', 'launch.js']) writeFileSync(join(dist, 'bundle', f), '');
    }
    return bin;
  }

  interface Pool { bin: string; dir: string; trace: string; env: NodeJS.ProcessEnv }
  interface Ran { status: number | null; stdout: string; stderr: string }

  /**
   * Run a command to the end of its output (every writer closed its stdout
   * and stderr): a child that kept a client's fd fails the test here instead
   * of hanging it, as spawnSync would (it waits for EOF whatever its timeout).
   */
  function exec(file: string, args: string[], o: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number }): Promise<Ran> {
    return new Promise((resolve, reject) => {
      const c = spawn(file, args, { env: o.env, cwd: o.cwd ?? base, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.stdin.on('error', () => undefined); // a command that reads no stdin may be gone before it is written
      c.stdin.end(o.input ?? '');
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        c.stdout.destroy();
        c.stderr.destroy();
        reject(new Error(`${file} ${args.join(' ')}: no end of output after ${o.timeoutMs ?? 30_000} ms (exit ${c.exitCode}); stdout ${JSON.stringify(stdout)}`));
      }, o.timeoutMs ?? 30_000);
      c.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  function makeRoot(dir: string, conf = ''): NodeJS.ProcessEnv {
    for (const d of ['store', 'var', 'log', 'etc', 'home']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'etc', 'nix.conf'), `build-users-group =\nsubstituters =\nsandbox = false\nexperimental-features = nix-command\n${conf}`);
    return {
      NIX_STORE_DIR: join(dir, 'store'), NIX_STATE_DIR: join(dir, 'var'), NIX_LOG_DIR: join(dir, 'log'), NIX_CONF_DIR: join(dir, 'etc'),
      HOME: join(dir, 'home'), NIX_REMOTE: '', NIX_PATH: '',
    };
  }

  function makePool(name: string, real: boolean): Pool {
    const bin = makeInstall(name, real);
    const dir = join(base, name, 'pool');
    mkdirSync(dir, { mode: 0o700 });
    const trace = join(base, name, 'trace');
    const env = { PATH: process.env.PATH, LANG: 'C.UTF-8', TIX_SERVER_DIR: dir, TIX_SERVER_TRACE: trace, TIX_SERVER_IDLE: '60' };
    return { bin, dir, trace, env };
  }

  function run(p: Pool, prog: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<Ran> {
    return exec(join(p.bin, prog), args, { env: { ...p.env, TIX_SERVER: 'require', ...o.env }, cwd: o.cwd, input: o.input });
  }

  function trace(p: Pool): string[] {
    return existsSync(p.trace) ? readFileSync(p.trace, 'utf8').trim().split('\n') : [];
  }

  /** The pid that served each job from trace line `from` on, and whether it had served one before. */
  function jobs(p: Pool, from = 0): Array<{ pid: number; reused: boolean }> {
    const out: Array<{ pid: number; reused: boolean }> = [];
    const lines = trace(p).slice(from);
    lines.forEach((l, i) => {
      const m = /^pool (\d+)$/.exec(l);
      if (m) out.push({ pid: Number(m[1]), reused: lines[i - 1] === `reused ${m[1]}` });
    });
    return out;
  }

  function alive(pid: number): boolean {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }

  async function waitGone(pid: number): Promise<boolean> {
    for (let i = 0; i < 300 && alive(pid); i++) await sleep(50);
    return !alive(pid);
  }

  /** Start the real pool and wait until a command runs through it. */
  async function warmPool(p: Pool): Promise<void> {
    await exec(join(p.bin, 'nix-instantiate'), ['--eval', '-E', '0'], { env: p.env, timeoutMs: 60_000 });
    for (let i = 0; i < 600; i++) {
      if ((await run(p, 'nix-instantiate', ['--eval', '-E', '0'])).status === 0) return;
      await sleep(100);
    }
    assert.fail(`the pool did not come up: ${trace(p).slice(-3).join(' | ')}`);
  }

  const real = skipReal ? undefined : makePool('real', true);

  test('consecutive jobs in one child: each sees only its own environment, cwd, nix.conf and store', { skip: skipReal, timeout: 180_000 }, async () => {
    const p = real!;
    await warmPool(p);
    const sides = ['a', 'b'].map((s) => {
      const dir = join(base, `side-${s}`);
      const env = { ...makeRoot(dir, `system = sys-${s}\n`), ...(s === 'a' ? { ONLY: 'only-a' } : {}) };
      mkdirSync(join(dir, 'cwd'));
      writeFileSync(join(dir, 'cwd', 'file'), `content ${s}\n`);
      return { s, dir, env };
    });
    const expr = '[ builtins.storeDir (builtins.getEnv "ONLY") ./. builtins.currentSystem ]';
    const from = trace(p).length;
    for (let i = 0; i < 6; i++) {
      const { s, dir, env } = sides[i % 2]!;
      const ev = await run(p, 'nix-instantiate', ['--eval', '--strict', '-E', expr], { env, cwd: join(dir, 'cwd') });
      assert.equal(ev.status, 0, ev.stderr);
      assert.equal(ev.stdout, `[ "${dir}/store" "${s === 'a' ? 'only-a' : ''}" ${dir}/cwd "sys-${s}" ]\n`);
      // A relative path, read in the job's cwd, added to the job's store.
      const add = await run(p, 'nix-store', ['--add', 'file'], { env, cwd: join(dir, 'cwd') });
      assert.equal(add.status, 0, add.stderr);
      assert.match(add.stdout, new RegExp(`^${dir}/store/[a-z0-9]{32}-file\\n$`));
      assert.equal(readFileSync(add.stdout.trim(), 'utf8'), `content ${s}\n`);
      const q = await run(p, 'nix-store', ['-q', '--hash', add.stdout.trim()], { env });
      assert.equal(q.status, 0, q.stderr);
    }
    // The other side's store was never written to.
    for (const { s, dir } of sides) assert.deepEqual(readdirSync(join(dir, 'store')).filter((f) => f !== '.links').map((f) => f.replace(/^[a-z0-9]{32}-/, '')), ['file'], s);
    const served = jobs(p, from);
    assert.equal(served.length, 18);
    assert.ok(served.filter((j) => j.reused).length >= 12, `few jobs in reused children: ${trace(p).slice(from).join(' | ')}`);
    // Some child served both sides (alternating jobs).
    const sidesOf = new Map<number, Set<number>>();
    served.forEach((j, k) => sidesOf.set(j.pid, (sidesOf.get(j.pid) ?? new Set()).add(Math.floor(k / 3) % 2)));
    assert.ok([...sidesOf.values()].some((x) => x.size === 2));
  });

  test('stdout to a pipe, a file and a terminal; order with the shell\'s writes; exact exit statuses', { skip: skipReal, timeout: 180_000 }, async () => {
    const p = real!;
    await warmPool(p);
    const env = makeRoot(join(base, 'stdio-root'));
    const b = join(p.bin, 'nix-instantiate');
    const f = join(base, 'stdio-out');
    const from = trace(p).length;
    const script = [
      `{ echo first; ${b} --eval -E '"a"'; echo second; ${b} --eval -E 'throw "boom"'; echo "status $?";`,
      ` ${b} --eval -E 'builtins.trace "t" "c"'; ${b} --eval -E '"d"'; } > ${f} 2>&1`,
      `${b} --eval -E '"e"' >> ${f}`,
    ].join('\n');
    const sh = await exec('/bin/sh', ['-c', script], { env: { ...p.env, ...env, TIX_SERVER: 'require' } });
    assert.equal(sh.status, 0, sh.stderr);
    assert.equal(readFileSync(f, 'utf8'), 'first\n"a"\nsecond\nerror: boom\nstatus 1\ntrace: t\n"c"\n"d"\n"e"\n');
    // A pipe (a command substitution waits for every writer to close it: the child gives it back).
    const sub = await exec('/bin/sh', ['-c', `x=$(${b} --eval -E '"p"'); y=$(${b} --eval -E '"q"'); echo "$x$y"`],
      { env: { ...p.env, ...env, TIX_SERVER: 'require' } });
    assert.equal(sub.stdout, '"p""q"\n', sub.stderr);
    // A terminal, through script(1).
    if (spawnSync('script', ['--version']).status === 0) {
      const tty = await exec('script', ['-qec', `${b} --eval -E '"t1"'; ${b} --eval -E '"t2"'; ${b} --eval -E 'throw "t3"'; echo "s=$?"`, '/dev/null'],
        { env: { ...p.env, ...env, TIX_SERVER: 'require' } });
      assert.equal(tty.status, 0, tty.stderr);
      assert.equal(tty.stdout.replace(/\r\n/g, '\n'), '"t1"\n"t2"\nerror: t3\ns=1\n');
    }
    // A failed build's status is the direct run's.
    const drv = 'derivation { name = "fails"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "exit 3" ]; }';
    const pooled = await run(p, 'nix-build', ['--no-out-link', '-E', drv], { env });
    const direct = await run(p, 'nix-build', ['--no-out-link', '-E', drv], { env: { ...env, TIX_SERVER: '0' } });
    assert.notEqual(pooled.status, 0);
    assert.equal(pooled.status, direct.status, pooled.stderr);
    assert.ok(jobs(p, from).some((j) => j.reused), trace(p).slice(from).join(' | '));
  });

  test('a job that read stdin ends its child; a killed or interrupted client still ends a reused child\'s job', { skip: skipReal, timeout: 180_000 }, async () => {
    const p = real!;
    await warmPool(p);
    const env = makeRoot(join(base, 'stdin-root'));
    let from = trace(p).length;
    const r = await run(p, 'nix-instantiate', ['--eval', '-'], { env, input: '"from " + "stdin"' });
    assert.equal(r.stdout, '"from stdin"\n');
    const [stdinJob] = jobs(p, from);
    assert.ok(stdinJob);
    assert.ok(await waitGone(stdinJob.pid), 'the child that read stdin still runs');
    for (const sig of ['SIGKILL', 'SIGINT'] as const) {
      // Until the job lands in a child that served jobs before (the pool has two or three).
      let job: { pid: number; reused: boolean } | undefined;
      for (let attempt = 0; attempt < 20 && !job?.reused; attempt++) {
        for (let i = 0; i < 3; i++) assert.equal((await run(p, 'nix-instantiate', ['--eval', '-E', '1'], { env })).status, 0);
        from = trace(p).length;
        // Reads stdin until EOF, which never comes: the job runs until its client goes.
        const c = spawn(join(p.bin, 'nix-instantiate'), ['--eval', '-'], { env: { ...p.env, ...env, TIX_SERVER: 'require' }, stdio: ['pipe', 'ignore', 'ignore'] });
        const exited = new Promise<string | number | null>((res) => c.on('exit', (code, s) => res(s ?? code)));
        for (let i = 0; i < 600 && jobs(p, from).length === 0; i++) await sleep(20);
        job = jobs(p, from)[0];
        assert.ok(job, 'no job started');
        assert.ok(alive(job.pid));
        c.kill(sig);
        assert.equal(await exited, sig);
        assert.ok(await waitGone(job.pid), `job ${job.pid} still runs after ${sig} of its client`);
        c.stdin.destroy();
      }
      assert.ok(job?.reused, `no job of a reused child was ${sig}ed`);
    }
  });

  test('a child that holds the lock fd of a store deleted since leaves the pool; the next job runs in the pool', { skip: skipReal, timeout: 120_000 }, async () => {
    const p = real!;
    await warmPool(p);
    const dir = join(base, 'doomed');
    const env = makeRoot(dir);
    writeFileSync(join(dir, 'f'), 'x\n');
    const from = trace(p).length;
    const add = await run(p, 'nix-store', ['--add', join(dir, 'f')], { env });
    assert.equal(add.status, 0, add.stderr);
    const [job] = jobs(p, from);
    assert.ok(job);
    // Served cleanly: still alive, idle.
    await sleep(300);
    assert.ok(alive(job.pid), 'the child did not survive its job');
    spawnSync('chmod', ['-R', 'u+w', dir]);
    rmSync(dir, { recursive: true, force: true });
    assert.ok(await waitGone(job.pid), 'the child still waits for jobs with a deleted store\'s lock fd');
    // The same root made anew: a job there runs in a child without the old fd, through the pool.
    const env2 = makeRoot(dir);
    writeFileSync(join(dir, 'f'), 'x\n');
    const again = await run(p, 'nix-store', ['--add', join(dir, 'f')], { env: env2 });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, add.stdout);
    assert.doesNotMatch(trace(p).at(-1)!, /^direct/);
  });

  /** A host this file runs: a warm child (child.ts) with this file's test commands, listening where bin/tix looks. */
  function startHost(p: Pool, sock: string): { host: ChildProcess; ctl: () => string; log: () => string } {
    const { listenUnix } = hostSys!;
    const fd = listenUnix(sock);
    const host = spawn(process.execPath, [HERE, 'host', String(process.pid)], {
      stdio: ['ignore', 'ignore', 'pipe', fd, 'pipe'],
      env: { ...process.env, TIX_SERVER_WARMUP: '0' },
    });
    hostSys!.closeFd(fd);
    hosts.push(host);
    let ctl = '';
    let log = '';
    (host.stdio[4] as Duplex).on('data', (b: Buffer) => (ctl += b.toString('latin1')));
    host.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    return { host, ctl: () => ctl, log: () => log };
  }

  /** The socket bin/tix connects to for this install (its build id: see bin/tix). */
  function socketPath(p: Pool): string {
    const main = statSync(join(p.bin, '..', 'dist', 'bundle', 'main.js'), { bigint: true });
    let node: BigIntStats | undefined;
    for (const d of (process.env.PATH ?? '').split(':')) {
      const n = join(d === '' ? '.' : d, 'node');
      try {
        accessSync(n, constants.X_OK);
        if (statSync(n).isFile()) {
          node = statSync(n, { bigint: true });
          break;
        }
      } catch {
        // not here
      }
    }
    assert.ok(node, 'no node on PATH');
    const h = (x: bigint | number): string => x.toString(16);
    const id = `${h(main.dev)}-${h(main.ino)}-${h(main.mtimeNs / 1_000_000_000n)}.${h(main.mtimeNs % 1_000_000_000n)}-${h(main.size)}-${h(node.dev)}.${h(node.ino)}`;
    return join(p.dir, `${id}.sock`);
  }

  async function waitFor(what: string, f: () => boolean): Promise<void> {
    for (let i = 0; i < 600 && !f(); i++) await sleep(20);
    assert.ok(f(), `timed out waiting for ${what}`);
  }

  let hostSys: typeof import('./syscalls.js') | undefined;

  test('the end of a job decides: returned cleanly (reused), process.exit, an uncaught exception, a leftover timer or fd', { skip, timeout: 120_000 }, async () => {
    hostSys = await import('./syscalls.js');
    const p = makePool('host', false);
    const sock = socketPath(p);
    const cmd = (args: string[], env: NodeJS.ProcessEnv = {}, cwd = base): Promise<Ran> =>
      exec(join(p.bin, 'nix-instantiate'), ['--eval', ...args], { env: { ...p.env, TIX_SERVER: 'require', ...env }, cwd });

    const ends: Array<{ kind: string; status: number; stdout: string; stderr?: RegExp; why?: RegExp }> = [
      { kind: 'exit', status: 7, stdout: 'before exit\n' },
      { kind: 'throw', status: 1, stdout: '', stderr: /thrown in a job/ },
      { kind: 'timer', status: 0, stdout: 'late\n', why: /not reused: active Timeout/ },
      { kind: 'fd', status: 0, stdout: '', why: /not reused: fd \d+ left open \(\/dev\/null\)/ },
    ];
    for (const end of ends) {
      const h = startHost(p, sock);
      await waitFor('the host to be warm', () => h.ctl() === 'W');
      const cwd1 = mkdtempSync(join(base, 'cwd-'));
      // Two clean jobs: the second in the same process, with nothing of the first.
      const one = await cmd(['echo', 'one'], { ONLY: 'x', STATUS: '3' }, cwd1);
      assert.equal(one.status, 3, one.stderr);
      assert.equal(one.stdout, `one x ${cwd1} ${process.umask().toString(8)}\n`);
      assert.equal(one.stderr, 'to stderr one\n');
      const two = await exec('/bin/sh', ['-c', 'umask 077; exec "$0" --eval echo two', join(p.bin, 'nix-instantiate')],
        { env: { ...p.env, TIX_SERVER: 'require' }, cwd: '/' });
      assert.equal(two.status, 0, two.stderr);
      assert.equal(two.stdout, 'two - / 77\n');
      await waitFor('the host to be idle again', () => h.ctl() === 'WUWUW');
      const pids = jobs(p).slice(-2);
      assert.deepEqual(pids.map((j) => [j.pid, j.reused]), [[h.host.pid, false], [h.host.pid, true]]);
      // Then the job under test: its status and output are exact, and its process ends with it.
      const exited = new Promise<void>((res) => (h.host.exitCode !== null ? res() : h.host.on('exit', () => res())));
      const r = await cmd([end.kind]);
      assert.equal(r.status, end.status, `${end.kind}: ${r.stderr}`);
      assert.equal(r.stdout, end.stdout, end.kind);
      if (end.stderr) assert.match(r.stderr, end.stderr, end.kind);
      await exited;
      assert.equal(h.ctl(), 'WUWUWU', `${end.kind}: the host said it was idle again`);
      if (end.why) assert.match(h.log(), end.why, end.kind);
      rmSync(sock, { force: true });
    }
  });
}

/**
 * Escape attempts and injection checks against the build sandbox, shared by
 * the root test (in-process) and the non-root test (this file run as a
 * program under an unprivileged uid, printing one JSON result per line).
 *
 * Each scenario runs a real builder (bash) in a fresh sandbox over a tiny
 * fake store: `dep` is the input closure, `secret` is a valid-looking store
 * path outside it, `inj` is what gets injected while the builder runs.
 */
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readlinkSync, existsSync, readdirSync, statSync, rmSync, chmodSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Settings } from '../../src/core/index.js';
import { createSandbox, type Sandbox, type BuilderProcess } from '../../src/build/sandbox/index.js';

export interface Fixture {
  root: string;
  store: string;
  dep: string;
  secret: string;
  inj: string;
  /** A second injectable path. */
  inj2: string;
  out: string;
  build: string;
  settings: Settings;
  cleanup(): Promise<void>;
}

const h = (c: string): string => c.repeat(32);

export function makeFixture(base = tmpdir()): Fixture {
  const root = mkdtempSync(join(base, 'tix-sb-'));
  chmodSync(root, 0o755);
  const store = join(root, 'store');
  mkdirSync(store);
  const mk = (name: string, text: string): string => {
    const p = join(store, name);
    mkdirSync(p);
    writeFileSync(join(p, 'f'), text);
    chmodSync(join(p, 'f'), 0o444);
    chmodSync(p, 0o555);
    return p;
  };
  const dep = mk(`${h('a')}-dep`, 'hello\n');
  const secret = mk(`${h('b')}-secret`, 'SECRET-CONTENT\n');
  const inj = mk(`${h('c')}-inj`, 'INJECTED-CONTENT\n');
  const inj2 = mk(`${h('f')}-inj2`, 'INJECTED-2\n');
  const build = join(root, 'build');
  mkdirSync(build);
  const settings = new Settings();
  settings.set('sandbox-paths', '/bin/sh=/bin/bash /bin/bash /usr /lib /lib64?');
  return {
    root, store, dep, secret, inj, inj2, build, settings,
    out: join(store, `${h('d')}-out`),
    async cleanup() {
      // Retried with the event loop running: this process may still be deleting a chroot in
      // its trash or making a spare one (chains of thread-pool steps after destroy()), which
      // races the walk (ENOTEMPTY) and needs the loop to finish.
      for (let i = 0; ; i++) {
        spawnSync('chmod', ['-R', 'u+w', root]); // store paths and the sandbox's /etc are read-only
        try {
          rmSync(root, { recursive: true, force: true });
          return;
        } catch (e) {
          if (i >= 50) throw e;
          await sleep(20);
        }
      }
    },
  };
}

export interface Run {
  code: number | null;
  signal: string | null;
  out: string;
}

export interface RunOptions {
  network?: boolean;
  /** More input paths besides `dep`. */
  extraInputs?: string[];
  /** Instead of `dep` (+ extraInputs). */
  inputs?: string[];
  /** Another build in the same store: its own drv, build dir and output. */
  id?: string;
  /** Runs while the builder does; gets the sandbox and process. */
  during?: (sb: Sandbox, child: BuilderProcess) => Promise<void>;
  timeoutMs?: number;
}

export async function runBuilder(fx: Fixture, script: string, opts: RunOptions = {}): Promise<Run> {
  const id = opts.id ?? '';
  const buildDir = id === '' ? fx.build : join(fx.root, `build-${id}`);
  const outPath = id === '' ? fx.out : join(fx.store, `${h('d').slice(0, 31)}${id}-out`);
  if (id !== '') mkdirSync(buildDir, { recursive: true });
  const sb = await createSandbox({
    drvPath: join(fx.store, `${h('e')}-test${id}.drv`),
    storeDir: fx.store,
    buildDir,
    inputClosure: new Set(opts.inputs ?? [fx.dep, ...(opts.extraInputs ?? [])]),
    outputs: new Map([['out', outPath]]),
    network: opts.network ?? false,
    noChroot: false,
    settings: fx.settings,
    requiredSystemFeatures: [],
  });
  try {
    const child = await sb.spawn({
      builder: '/bin/bash',
      args: ['-c', script],
      env: { PATH: '/usr/bin:/bin', out: outPath, dep: fx.dep, secret: fx.secret, inj: fx.inj, store: fx.store },
      cwd: sb.buildDirInSandbox,
    });
    let out = '';
    child.output.on('data', (d: Buffer) => (out += d.toString()));
    // The log ends when the sandbox's last process is gone; the status may come first (as the builder's monitor knows).
    const ended = new Promise<void>((r) => {
      child.output.once('end', r);
      child.output.once('error', () => r());
    });
    const timer = setTimeout(() => child.kill(), opts.timeoutMs ?? 30_000);
    try {
      if (opts.during) await opts.during(sb, child);
      const st = await child.exited;
      await ended;
      return { code: st.code, signal: st.signal, out };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await sb.destroy();
  }
}

/** Wait until the builder created `/build/<name>`. */
async function waitFor(fx: Fixture, name: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(join(fx.build, name))) {
    if (Date.now() > end) throw new Error(`builder never created /build/${name}`);
    await sleep(5);
  }
}

const WAIT_GO = 'touch /build/ready; while [ ! -e /build/go ]; do sleep 0.01; done';

/** Processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(marker)) found.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return found;
}

export interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

/** Fds listed by `ls -l /proc/self/fd`, minus the one ls opened for the listing. */
function inheritedFds(out: string): string[] {
  return [...out.matchAll(/ (\d+) -> (.*)$/gm)].filter((m) => !m[2]!.startsWith('/proc/')).map((m) => m[1]!);
}

type Scenario = (fx: Fixture) => Promise<{ ok: boolean; detail: string }>;

export const SCENARIOS: Record<string, Scenario> = {
  async 'identity: uid 1000, pid 1, localhost, no capabilities, Nix /etc files'(fx) {
    const r = await runBuilder(fx, 'id -u; echo pid=$$; hostname; grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status; cat /etc/passwd /etc/group /etc/hosts; echo top=$NIX_BUILD_TOP; pwd; exec ls -l /proc/self/fd');
    const caps = [...r.out.matchAll(/^Cap\w+:\s*([0-9a-f]+)$/gm)].map((m) => m[1]);
    const ok = r.code === 0 && /^1000$/m.test(r.out) && r.out.includes('pid=1\n') && /^localhost$/m.test(r.out) &&
      caps.length === 5 && caps.every((c) => /^0+$/.test(c!)) && r.out.includes('nixbld:x:1000:100:Nix build user:/build:/noshell') &&
      r.out.includes('nobody:x:65534:65534:Nobody:/:/noshell') && r.out.includes('nixbld:!:100:') && r.out.includes('127.0.0.1 localhost') &&
      /^\/build$/m.test(r.out) && inheritedFds(r.out).join() === '0,1,2';
    return { ok, detail: r.out };
  },

  async 'store shows only the input closure (by name and by listing)'(fx) {
    const r = await runBuilder(fx, 'cat "$secret/f" && echo LEAK-BY-NAME; ls "$secret" && echo LEAK-DIR; ls -a "$store"; cat "$dep/f"');
    const listed = r.out.split('\n').filter((l) => /^[0-9a-z]{32}-/.test(l));
    const ok = !r.out.includes('LEAK') && !r.out.includes('SECRET-CONTENT') && r.out.includes('hello') &&
      listed.length === 1 && listed[0] === `${h('a')}-dep`;
    return { ok, detail: r.out };
  },

  async 'no network for a non-fixed-output build; a fixed-output one gets it'(fx) {
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.end('PONG\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const probe = `if exec 3<>/dev/tcp/127.0.0.1/${port}; then read -r l <&3; echo "GOT-$l"; fi; ls /etc/resolv.conf 2>/dev/null && echo HAS-RESOLV; true`;
    try {
      const closed = await runBuilder(fx, probe);
      const afterClosed = connections;
      const open = await runBuilder(fx, probe, { network: true });
      const ok = !closed.out.includes('GOT-') && afterClosed === 0 && !closed.out.includes('HAS-RESOLV') && open.out.includes('GOT-PONG') && connections === 1;
      return { ok, detail: `non-FOD: ${closed.out}\nFOD: ${open.out}\nconnections=${connections}` };
    } finally {
      server.close();
    }
  },

  async 'a 300-path closure is all there, read-only, and nothing else'(fx) {
    const extra: string[] = [];
    for (let i = 0; i < 300; i++) {
      const p = join(fx.store, `${String(i).padStart(32, 'g')}-in${i}`);
      mkdirSync(p);
      writeFileSync(join(p, 'f'), `in ${i}\n`);
      extra.push(p);
    }
    const r = await runBuilder(fx, `ls "$store" | wc -l; cat "$store/${String(299).padStart(32, 'g')}-in299/f"; echo x > "$store/${String(7).padStart(32, 'g')}-in7/f"; ls "$secret" 2>&1 | head -1`, { extraInputs: extra });
    const ok = /^301$/m.test(r.out) && r.out.includes('in 299') && r.out.includes('Read-only file system') && /No such file/.test(r.out) &&
      readFileSync(join(extra[7]!, 'f'), 'utf8') === 'in 7\n';
    return { ok, detail: r.out };
  },

  async 'file and symlink inputs are there and read-only'(fx) {
    const file = join(fx.store, `${h('j')}-input.txt`);
    writeFileSync(file, 'FILE-INPUT\n');
    chmodSync(file, 0o444);
    const link = join(fx.store, `${h('k')}-input-link`);
    symlinkSync(fx.dep, link);
    const r = await runBuilder(fx, `cat "${file}"; cat "${link}/f"; echo x > "${file}"; chmod u+w "${file}"; echo x >> "${file}"; rm -f "${file}"; ` +
      `ln -sfn /build "${link}"; ls -l "$store" | grep -c -- -input; stat -c %a "${file}"`, { extraInputs: [file, link] });
    const ok = r.out.includes('FILE-INPUT') && r.out.includes('hello') && (r.out.match(/Read-only file system/g) ?? []).length === 2 &&
      /cannot remove .*-input\.txt/.test(r.out) && readFileSync(file, 'utf8') === 'FILE-INPUT\n' && (statSync(file).mode & 0o777) === 0o444 &&
      readlinkSync(link) === fx.dep && /^2$/m.test(r.out) && /^444$/m.test(r.out);
    return { ok, detail: r.out };
  },

  async 'concurrent builds in one store each see only their own inputs and outputs'(fx) {
    const script = 'sleep 0.3; mkdir $out; ls "$store" > $out/seen; echo mine > $out/f';
    const [a, b] = await Promise.all([
      runBuilder(fx, script, { id: '1', inputs: [fx.dep] }),
      runBuilder(fx, script, { id: '2', inputs: [fx.secret] }),
    ]);
    const outA = join(fx.store, `${h('d').slice(0, 31)}1-out`);
    const outB = join(fx.store, `${h('d').slice(0, 31)}2-out`);
    const seenA = readFileSync(join(outA, 'seen'), 'utf8').trim().split('\n');
    const seenB = readFileSync(join(outB, 'seen'), 'utf8').trim().split('\n');
    const ok = a.code === 0 && b.code === 0 && seenA.join() === [`${h('a')}-dep`, basename(outA)].join() &&
      seenB.join() === [`${h('b')}-secret`, basename(outB)].join();
    return { ok, detail: `A: ${seenA.join(' ')} ${a.out}\nB: ${seenB.join(' ')} ${b.out}` };
  },

  async 'store paths named in sandbox-paths join the store view'(fx) {
    fx.settings.set('extra-sandbox-paths', `${fx.inj2} /inj-file=${fx.inj}/f`);
    const r = await runBuilder(fx, 'ls "$store"; cat /inj-file; echo x > /inj-file');
    const listed = r.out.split('\n').filter((l) => /^[0-9a-z]{32}-/.test(l));
    const ok = listed.join() === [`${h('a')}-dep`, `${h('c')}-inj`, `${h('f')}-inj2`].join() && r.out.includes('INJECTED-CONTENT') &&
      /Read-only file system/.test(r.out);
    return { ok, detail: r.out };
  },

  async 'the builder cannot mount over its view (no capabilities; its own namespaces stay its own)'(fx) {
    const r = await runBuilder(fx, 'mount --bind /build "$dep" 2>&1 && echo MOUNTED; mount -t tmpfs none "$store" 2>&1 && echo MOUNTED; ' +
      'unshare -rm sh -c "mount -t tmpfs none $dep && echo inner-mount-ok" 2>&1; cat "$dep/f"; ls "$store"');
    const ok = !r.out.includes('MOUNTED') && /hello/.test(r.out) && r.out.includes(`${h('a')}-dep`) &&
      readFileSync(join(fx.dep, 'f'), 'utf8') === 'hello\n';
    return { ok, detail: r.out };
  },

  async 'sandbox paths, /etc and /proc/sys are read-only; no new privileges; the uid map is fixed'(fx) {
    const probe = `/usr/.tix-escape-${process.pid}`;
    const r = await runBuilder(fx, `touch ${probe}; touch /lib/.tix-escape-${process.pid}; echo x >> /etc/passwd; echo 1 > /proc/sys/kernel/ns_last_pid; ` +
      `echo "0 0 1" > /proc/self/uid_map && echo MAPPED; grep NoNewPrivs /proc/self/status; echo usr-opts=$(grep " /usr /usr " /proc/self/mountinfo | cut -d" " -f6); true`);
    // /usr, /lib and /etc: read-only mounts; /proc/sys and the uid map: refused one way or the other.
    const ok = (r.out.match(/Read-only file system/g) ?? []).length >= 3 && (r.out.match(/Read-only file system|Operation not permitted/g) ?? []).length === 5 && /NoNewPrivs:\s*1/.test(r.out) && /^usr-opts=ro,/m.test(r.out) &&
      !r.out.includes('MAPPED') && !existsSync(probe) && !existsSync(`/lib/.tix-escape-${process.pid}`);
    return { ok, detail: r.out };
  },

  async 'consecutive builds share nothing (the second runs in a sandbox started ahead); no trace of the host root'(fx) {
    const a = await runBuilder(fx, 'echo leak > /tmp/leak; echo leak > /dev/shm/leak; mkdir /tmp/d; echo a-done');
    const b = await runBuilder(fx, 'ls -A /tmp /dev/shm; cat /tmp/leak /dev/shm/leak 2>&1; ls -a /; echo mounts=$(grep -c oldroot /proc/self/mountinfo); true');
    // No inputs at all (the sandbox must still wait for its view), twice in a row: the output
    // lands in the build's own upper dir, never in the host's mount point of the view.
    const c = await runBuilder(fx, 'echo c > $out', { inputs: [] });
    const cOut = existsSync(fx.out) && readFileSync(fx.out, 'utf8') === 'c\n';
    const d = await runBuilder(fx, 'echo d > $out; ls "$store" | wc -l', { inputs: [], id: '2' });
    const hostView = readdirSync(join(fx.store, '.tix-sandbox', 'view'));
    const ok = c.code === 0 && cOut && d.code === 0 && /^1$/m.test(d.out) && hostView.length === 0 && a.out.includes('a-done') && !/^leak$/m.test(b.out) && !/^d$/m.test(b.out) && (b.out.match(/No such file/g) ?? []).length === 2 &&
      !b.out.includes('oldroot') && /^build$/m.test(b.out) && /^mounts=0$/m.test(b.out);
    return { ok, detail: `A: ${a.out}\nB: ${b.out}\nC: ${c.code} ${c.out} out=${cOut}\nD: ${d.code} ${d.out}\nhost view: ${hostView.join(' ')}` };
  },

  async 'inputs are read-only'(fx) {
    const before = statSync(join(fx.dep, 'f'));
    const r = await runBuilder(fx, 'echo x > "$dep/f"; echo y > "$dep/new"; chmod u+w "$dep" "$dep/f"; rm -f "$dep/f"; mv "$dep/f" "$dep/g"; touch -d 2000-01-01 "$dep/f"; mkdir "$dep/d"; true');
    const after = statSync(join(fx.dep, 'f'));
    const ok = readFileSync(join(fx.dep, 'f'), 'utf8') === 'hello\n' && readdirSync(fx.dep).join() === 'f' &&
      after.mtimeMs === before.mtimeMs && after.mode === before.mode && /Read-only file system/.test(r.out);
    return { ok, detail: r.out };
  },

  async "host /root, /home, /etc/shadow and host processes' /proc are out of reach"(fx) {
    const r = await runBuilder(fx, `for f in /root /home /etc/shadow /proc/${process.pid}/environ /proc/${process.pid}/cmdline /proc/1/root/etc/shadow; do cat "$f" >/dev/null 2>&1 && echo "READ $f"; ls "$f" >/dev/null 2>&1 && echo "LISTED $f"; done; echo procs=$(ls /proc | grep -c '^[0-9]'); true`);
    const procs = Number(/procs=(\d+)/.exec(r.out)?.[1] ?? '999');
    const ok = r.code === 0 && !/READ|LISTED/.test(r.out) && procs <= 4;
    return { ok, detail: r.out };
  },

  async 'paths are injected live and read-only (directory, file, symlink), visible within one call'(fx) {
    let addErr = '';
    const file = join(fx.store, `${h('h')}-inj.txt`);
    writeFileSync(file, 'INJECTED-FILE\n');
    chmodSync(file, 0o444);
    const link = join(fx.store, `${h('i')}-inj-link`);
    symlinkSync(fx.inj, link);
    const script = `${WAIT_GO}; cat "$inj/f"; echo z > "$inj/f"; echo z > "$inj/new"; cat "${file}"; echo z > "${file}"; ` +
      `cat "${link}/f"; ls "$store" | wc -l`;
    const r = await runBuilder(fx, script, {
      during: async (sb) => {
        await waitFor(fx, 'ready');
        try {
          for (const p of [fx.inj, file, link]) await sb.addPath(p);
          await sb.addPath(fx.inj); // a second add of the same path is a no-op
        } catch (e) {
          addErr = String(e);
        }
        writeFileSync(join(fx.build, 'go'), '');
      },
    });
    const ok = addErr === '' && (r.out.match(/INJECTED-CONTENT/g) ?? []).length === 2 && r.out.includes('INJECTED-FILE') &&
      (r.out.match(/Read-only file system/g) ?? []).length === 3 && readFileSync(join(fx.inj, 'f'), 'utf8') === 'INJECTED-CONTENT\n' &&
      readFileSync(file, 'utf8') === 'INJECTED-FILE\n' && !existsSync(join(fx.inj, 'new')) && /^4$/m.test(r.out);
    return { ok, detail: `${r.out}\naddPath: ${addErr}` };
  },

  async 'a pre-created path (dir or symlink) is refused'(fx) {
    const errs: string[] = [];
    mkdirSync(join(fx.build, 'target'));
    const r = await runBuilder(fx, `mkdir "$inj"; ln -s /build/target "$store/${h('f')}-inj2"; ${WAIT_GO}; ls -A /build/target; ls -A "$inj"; echo done`, {
      during: async (sb) => {
        await waitFor(fx, 'ready');
        for (const p of [fx.inj, fx.inj2]) {
          try {
            await sb.addPath(p);
            errs.push('ACCEPTED');
          } catch (e) {
            errs.push(String((e as Error).message));
          }
        }
        writeFileSync(join(fx.build, 'go'), '');
      },
    });
    const ok = errs.length === 2 && errs.every((e) => /already exists in the sandbox/.test(e)) && !r.out.includes('f\n') &&
      readdirSync(join(fx.build, 'target')).length === 0;
    return { ok, detail: `${r.out}\n${errs.join('\n')}` };
  },

  async 'a symlink/rename race on an injected path cannot redirect the mount'(fx) {
    mkdirSync(join(fx.build, 't'));
    const p = fx.inj;
    let outcome = '';
    const r = await runBuilder(fx, `touch /build/ready; n=0; while [ ! -e /build/stop ]; do rm -rf "$inj" 2>/dev/null; ln -sfn /build/t "$inj" 2>/dev/null; rm -f "$inj"; mkdir "$inj" 2>/dev/null && mv "$inj" "$store/moved-$n" 2>/dev/null; n=$((n+1)); done; echo loops=$n; ls -A /build/t; cat "$inj/f" 2>/dev/null; grep -c -- "-inj" /proc/self/mountinfo; grep -- "-inj" /proc/self/mountinfo | cut -d' ' -f5`, {
      during: async (sb) => {
        await waitFor(fx, 'ready');
        await sleep(100);
        for (let i = 0; i < 20 && outcome !== 'ok'; i++) {
          try {
            await sb.addPath(p);
            outcome = 'ok';
          } catch (e) {
            outcome = (e as Error).message;
          }
        }
        writeFileSync(join(fx.build, 'stop'), '');
      },
    });
    // Wherever the mount landed, it must be inside the store view, and /build/t stays empty.
    const mountPoints = r.out.split('\n').filter((l) => l.startsWith('/') && l.includes('-inj') || l.startsWith(fx.store));
    const ok = readdirSync(join(fx.build, 't')).length === 0 && /loops=\d+/.test(r.out) &&
      mountPoints.every((m) => m.startsWith(fx.store + '/')) && (outcome === 'ok' || /already exists|could not add/.test(outcome));
    return { ok, detail: `${r.out}\naddPath: ${outcome}` };
  },

  async 'no process survives the build (exit, and kill on timeout)'(fx) {
    // The marker reaches only the sleeps' command lines (through $M), not the builder's own.
    const m1 = `31337.${process.pid}01`;
    const m2 = `31337.${process.pid}02`;
    const detach = '(setsid sleep $M &) ; nohup sleep $M >/dev/null 2>&1 & (sleep $M & disown) ; sleep $M </dev/null >/dev/null 2>&1 &';
    const a = await runBuilder(fx, `M=${m1.replace('.', '.""')}; ${detach} echo started; exit 0`);
    const left1 = describe(processesWith(m1)); // checked at once: destroy() waits for the namespace to be gone
    let seenRunning = 0;
    const b = await runBuilder(fx, `M=${m2.replace('.', '.""')}; ${detach} touch /build/ready; while true; do sleep 1; done`, {
      during: async (_sb, child) => {
        await waitFor(fx, 'ready');
        // all four detached sleeps must be up before the kill (they start asynchronously)
        for (let i = 0; i < 2000 && (seenRunning = processesWith(m2).length) < 4; i++) await sleep(5);
        child.kill();
      },
    });
    const left2 = describe(processesWith(m2));
    const ok = a.code === 0 && left1 === '' && seenRunning === 4 && b.signal === 'SIGKILL' && left2 === '';
    return { ok, detail: `exit: ${a.out} left=${left1}; killed: ${b.signal} running-before=${seenRunning} left=${left2}` };
  },
};

/** pid, state and command line of each process, for failure messages. */
function describe(pids: number[]): string {
  return pids
    .map((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
        return `${p}[${stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)}] ${readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ')}`;
      } catch {
        return `${p}[gone]`;
      }
    })
    .join('; ');
}

export async function runScenario(name: string, base?: string): Promise<Outcome> {
  const fx = makeFixture(base);
  try {
    const r = await SCENARIOS[name]!(fx);
    return { name, ...r };
  } catch (e) {
    return { name, ok: false, detail: String((e as Error).stack ?? e) };
  } finally {
    await fx.cleanup();
  }
}

// As a program: run every scenario (as whatever user we are), one JSON line each.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const base = process.argv[2];
  for (const name of Object.keys(SCENARIOS)) process.stdout.write(JSON.stringify(await runScenario(name, base)) + '\n');
}

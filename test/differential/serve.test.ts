/**
 * `ssh://` stores served by `nix-store --serve`: the reference 2.8 client
 * (`nix copy`, `nix-store --store`, `nix path-info`, `nix store ping`,
 * `nix-copy-closure`, `nix-build --builders`) talks to tix's server and, for comparison, to the
 * reference's own, through `ssh://localhost?remote-program=…` (2.8 runs the
 * command with `bash -c` for host `localhost`, inheriting the environment,
 * so the server uses the test root). The client side is a chroot store
 * (`local?root=…`) with the same logical store directory, so paths copy
 * between two real stores. Results must match, and both stores must pass
 * the reference's `nix-store --verify --check-contents`. The same again with
 * the server's store behind the reference `nix-daemon` (`NIX_REMOTE=daemon`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { startNixDaemon } from './daemon-harness.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REF_BIN, TIX_BIN, haveReference, makeRoot, normalise, runRef, type NixRoot, type RunResult } from '../harness/index.js';

const FILES: Record<string, string> = {
  'b.nix': `let dep = derivation { name = "dep2"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo dep2 > $out"]; };
in derivation { name = "top2"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo \${dep} > $out; echo building top2"]; }`,
  'remote.nix': `let dep = derivation { name = "rdep"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo rdep > $out"]; };
in derivation { name = "rtop"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "read x < \${dep}; echo $x > $out; echo remote build log; echo on stderr >&2"]; }`,
  'rfail.nix': `derivation { name = "rfail"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo failing now; exit 7"]; }`,
  'src.txt': 'a source file\n',
};

interface Step {
  name: string;
  status: number;
  stdout: string;
  stderr: string;
}

class Scenario {
  readonly steps: Step[] = [];
  readonly uri: string;
  constructor(readonly root: NixRoot, readonly prog: string) {
    this.uri = `ssh://localhost?remote-program=${prog}`;
  }

  chroot(name: string): string {
    return `local?root=${join(this.root.dir, name)}`;
  }

  /** Run a reference command; the remote program and root are normalised out of its output. */
  run(name: string, prog: string, args: string[], opts: { mustSucceed?: boolean; stdout?: (s: RunResult) => string; env?: NodeJS.ProcessEnv; ignoreStderr?: boolean } = {}): RunResult {
    const r = runRef(this.root, prog, args, { timeoutMs: 120_000, env: opts.env });
    const norm = (t: string): string => normalise(t.split(this.prog).join('$PROG'), this.root);
    this.steps.push({ name, status: r.status, stdout: norm(opts.stdout ? opts.stdout(r) : r.stdout), stderr: opts.ignoreStderr ? '' : norm(r.stderr) });
    if (opts.mustSucceed) assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    return r;
  }

  /** `nix path-info -r --json` without registration times (they differ run to run). */
  pathInfo(name: string, store: string, paths: string[]): void {
    this.run(name, 'nix', ['path-info', '--store', store, '-r', '--json', ...paths], {
      stdout: (r) => JSON.stringify((JSON.parse(r.stdout || '[]') as Record<string, unknown>[]).map(({ registrationTime: _t, ...rest }) => rest)),
    });
  }

  verify(name: string, store: string): void {
    this.run(name, 'nix-store', ['--store', store, '--verify', '--check-contents'], { mustSucceed: true });
  }
}

function prepare(root: NixRoot, secretKey: string): { top: string; src: string } {
  for (const [n, t] of Object.entries(FILES)) writeFileSync(join(root.dir, n), t);
  const ref = (...args: string[]): string => {
    const r = runRef(root, args[0]!, args.slice(1));
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const client = `local?root=${join(root.dir, 'client')}`;
  const top = ref('nix-build', 'b.nix', '--no-out-link');
  ref('nix', 'copy', '--no-check-sigs', '--to', client, top);
  const src = ref('nix-store', '--store', client, '--add', join(root.dir, 'src.txt'));
  ref('nix', 'store', 'sign', '--store', client, '--key-file', secretKey, '-r', top, src);
  // The server starts empty: everything reaches it through the ssh:// store.
  ref('nix-store', '--gc');
  return { top, src };
}

function copyAndQuery(s: Scenario, top: string, src: string): void {
  const missing = `${s.root.storeDir}/${'0'.repeat(32)}-missing`;
  s.run('nix copy --to ssh://', 'nix', ['copy', '--no-check-sigs', '--from', s.chroot('client'), '--to', s.uri, top, src], { mustSucceed: true });
  s.verify('server: nix-store --verify --check-contents', 'auto');
  s.pathInfo('server: nix path-info -r --json', 'auto', [top, src]);
  s.run('nix copy --to ssh:// again (nothing to do)', 'nix', ['copy', '--no-check-sigs', '--from', s.chroot('client'), '--to', s.uri, top]);
  s.run('nix copy --from ssh://', 'nix', ['copy', '--no-check-sigs', '--from', s.uri, '--to', s.chroot('copy'), top, src], { mustSucceed: true });
  s.verify('copy: nix-store --verify --check-contents', s.chroot('copy'));
  s.pathInfo('copy: nix path-info -r --json', s.chroot('copy'), [top, src]);
  s.run('nix-store --store ssh:// -qR', 'nix-store', ['--store', s.uri, '-qR', top]);
  s.run('nix-store --store ssh:// -q --hash', 'nix-store', ['--store', s.uri, '-q', '--hash', src]);
  s.run('nix-store --store ssh:// --check-validity', 'nix-store', ['--store', s.uri, '--check-validity', top, missing]);
  s.pathInfo('nix path-info --store ssh:// -r --json', s.uri, [top]);
  s.run('nix path-info --store ssh:// of an invalid path', 'nix', ['path-info', '--store', s.uri, missing]);
  s.run('nix store ping --store ssh://', 'nix', ['store', 'ping', '--store', s.uri]);
  s.run('nix-store --store ssh:// -r (valid path)', 'nix-store', ['--store', s.uri, '-r', top]);
  s.run('nix-store --store ssh:// --export', 'nix-store', ['--store', s.uri, '--export', top], {
    stdout: (r) => createHash('sha256').update(r.stdoutBytes).digest('hex'),
  });
  s.run('nix store cat --store ssh://', 'nix', ['store', 'cat', '--store', s.uri, `${top}`]);
  // nix-copy-closure runs plain `nix-store --serve --write`: the server is the first on PATH.
  const env = { PATH: `${dirname(s.prog)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  const nocheck = ['--option', 'require-sigs', 'false'];
  s.run('nix-copy-closure --from localhost', 'nix-copy-closure', ['--option', 'store', s.chroot('closure'), ...nocheck, '--from', 'localhost', top], { env, mustSucceed: true });
  s.verify('closure: nix-store --verify --check-contents', s.chroot('closure'));
  s.pathInfo('closure: nix path-info -r --json', s.chroot('closure'), [top]);
  // (Its stderr names stale temp-root files by pid: not compared.)
  s.run('nix-store --delete on the server', 'nix-store', ['--delete', top], { mustSucceed: true, ignoreStderr: true });
  s.run('nix-copy-closure --to localhost', 'nix-copy-closure', ['--option', 'store', s.chroot('closure'), '--to', 'localhost', top], { env, mustSucceed: true });
  s.verify('server after nix-copy-closure --to: nix-store --verify --check-contents', 'auto');
  s.pathInfo('server after nix-copy-closure --to: nix path-info -r --json', 'auto', [top]);
}

function remoteBuilds(s: Scenario): void {
  const builders = `${s.uri} x86_64-linux`;
  const client = s.chroot('builder-client');
  const out = s.run('nix-build --builders ssh:// (max-jobs 0)', 'nix-build', ['--store', client, '--max-jobs', '0', '--builders', builders, 'remote.nix', '--no-out-link'], { mustSucceed: true });
  const drv = s.run('its derivation', 'nix-store', ['--store', client, '-q', '--deriver', out.stdout.trim()]).stdout.trim();
  s.run('the remote build log, kept by the client', 'nix-store', ['--store', client, '-l', drv]);
  s.verify('builder client: nix-store --verify --check-contents', client);
  s.verify('build server: nix-store --verify --check-contents', 'auto');
  s.pathInfo('build server: the outputs', 'auto', [out.stdout.trim()]);
  s.run('nix-build --builders ssh:// of a failing build', 'nix-build', ['--store', client, '--max-jobs', '0', '--builders', builders, 'rfail.nix', '--no-out-link']);
}

function scenario(prog: string, dir: string, secretKey: string): Step[] {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    const { top, src } = prepare(root, secretKey);
    const s = new Scenario(root, prog);
    copyAndQuery(s, top, src);
    remoteBuilds(s);
    return s.steps;
  } finally {
    root.cleanup();
  }
}

/** The server side on a store that is a daemon (the reference's): 2.8 then serves through its client. */
async function daemonScenario(prog: string, dir: string, secretKey: string): Promise<Step[]> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    const { top, src } = prepare(root, secretKey);
    const daemon = await startNixDaemon('ref', root);
    try {
      const wrapper = join(dir, 'serve-on-daemon');
      writeFileSync(wrapper, `#!/bin/sh\nNIX_REMOTE=daemon exec ${prog} "$@"\n`);
      chmodSync(wrapper, 0o755);
      const s = new Scenario(root, wrapper);
      s.run('nix copy --to ssh:// (server store: daemon)', 'nix', ['copy', '--no-check-sigs', '--from', s.chroot('client'), '--to', s.uri, top, src], { mustSucceed: true });
      s.pathInfo('daemon store: nix path-info -r --json', 'daemon', [top, src]);
      s.run('nix copy --from ssh:// (server store: daemon)', 'nix', ['copy', '--no-check-sigs', '--from', s.uri, '--to', s.chroot('copy'), top], { mustSucceed: true });
      s.pathInfo('copy from the daemon store: nix path-info -r --json', s.chroot('copy'), [top]);
      remoteBuilds(s);
      return s.steps;
    } finally {
      await daemon.stop();
    }
  } finally {
    root.cleanup();
  }
}

test('ssh:// stores: the 2.8 client gets the same results from tix nix-store --serve as from its own', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-serve-'));
  try {
    // One signing key for both runs, so the signatures copied must be equal.
    const keys = makeRoot({ dir: mkdtempSync(join(base, 'keys-')) });
    const secretKey = join(base, 'sk');
    const g = runRef(keys, 'nix-store', ['--generate-binary-cache-key', 'serve-test-1', secretKey, join(base, 'pk')]);
    assert.equal(g.status, 0, g.stderr);
    const ref = scenario(join(REF_BIN, 'nix-store'), join(base, 'r'), secretKey);
    const tix = scenario(join(TIX_BIN, 'nix-store'), join(base, 'r'), secretKey);
    ref.push(...(await daemonScenario(join(REF_BIN, 'nix-store'), join(base, 'd'), secretKey)));
    tix.push(...(await daemonScenario(join(TIX_BIN, 'nix-store'), join(base, 'd'), secretKey)));
    assert.equal(tix.length, ref.length);
    const problems: string[] = [];
    for (const [i, r] of ref.entries()) {
      const t = tix[i]!;
      try {
        assert.deepEqual(t, r);
      } catch {
        problems.push(`${r.name}:\n  tix ${JSON.stringify(t)}\n  ref ${JSON.stringify(r)}`);
      }
    }
    assert.deepEqual(problems, []);
    // The scenario must have done real work under the reference.
    const step = (n: string): Step => ref.find((x) => x.name === n)!;
    assert.match(step('server: nix path-info -r --json').stdout, /"signatures":\["serve-test-1:/);
    assert.match(step('server: nix path-info -r --json').stdout, /"ca":"fixed:r:sha256:/);
    assert.match(step('the remote build log, kept by the client').stdout, /remote build log/);
    assert.notEqual(step('nix-build --builders ssh:// of a failing build').status, 0);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

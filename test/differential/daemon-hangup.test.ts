/**
 * A client that hangs up mid-build (2.8: the daemon's connection handler
 * notices the closed socket and interrupts the operation): the builder is
 * killed, nothing is registered, and the daemon goes on serving. Run against
 * tix's daemon, and against the reference daemon as a check of the scenario.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REF_BIN, TIX_BIN, haveReference, makeRoot, runTix } from '../harness/index.js';
import { startNixDaemon } from './daemon-harness.js';

async function poll(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function hangupScenario(kind: 'ref' | 'tix'): Promise<void> {
  const root = makeRoot({ conf: 'trusted-users = root' });
  const pidFile = join(root.dir, 'builder.pid');
  writeFileSync(join(root.dir, 'sleep.nix'), `derivation {
    name = "sleeper"; system = builtins.currentSystem; builder = "/bin/bash";
    args = ["-c" "echo $$ > ${pidFile}; exec /bin/sleep 1000"];
  }`);
  writeFileSync(join(root.dir, 'quick.nix'), 'derivation { name = "quick"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo ok > $out"]; }');
  const d = await startNixDaemon(kind, root);
  const viaDaemon = { env: { NIX_REMOTE: 'daemon' }, timeoutMs: 60_000 };
  let pid = -1;
  try {
    const drv = runTix(root, 'nix-instantiate', ['sleep.nix'], viaDaemon).stdout.trim();
    const out = runTix(root, 'nix-store', ['-q', '--outputs', drv], viaDaemon).stdout.trim();
    assert.match(out, /-sleeper$/);
    // The client that goes away: the reference's nix-store if present (tix's otherwise).
    const bin = haveReference() ? REF_BIN : TIX_BIN;
    const client = spawn(join(bin, 'nix-store'), ['-r', drv], { env: { ...root.env, NIX_REMOTE: 'daemon' }, stdio: 'ignore' });
    const clientExit = new Promise((r) => client.once('exit', r));
    await poll(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 60_000, 'the builder to start');
    pid = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(alive(pid), 'builder running');
    client.kill('SIGKILL');
    await clientExit;
    // Generous bound: only "within a few seconds" matters, not how fast.
    await poll(() => !alive(pid), 20_000, `builder ${pid} to be killed after the client hung up`);
    assert.equal(d.proc.exitCode, null, `daemon still running; stderr:\n${d.stderr()}`);
    // Nothing registered or left in the store, and the daemon serves the next client.
    const info = runTix(root, 'nix', ['path-info', out], viaDaemon);
    assert.notEqual(info.status, 0, 'output must not be valid');
    assert.ok(!existsSync(out), 'no output left in the store');
    const quick = runTix(root, 'nix-build', ['quick.nix', '--no-out-link'], viaDaemon);
    assert.equal(quick.status, 0, quick.stderr);
    assert.equal(readFileSync(quick.stdout.trim(), 'utf8'), 'ok\n');
    const verify = runTix(root, 'nix-store', ['--verify', '--check-contents'], viaDaemon);
    assert.equal(verify.status, 0, verify.stderr);
    assert.doesNotMatch(d.stderr(), /unexpected daemon failure|TypeError|at .*\.js:\d+/);
  } finally {
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    await d.stop();
    root.cleanup();
  }
}

test('tix daemon: a client hanging up mid-build kills the builder and registers nothing', () => hangupScenario('tix'));

test('reference daemon: the same scenario (checks the test itself)', { skip: !haveReference() }, () => hangupScenario('ref'));

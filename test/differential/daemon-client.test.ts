/**
 * tix's `RemoteStore` against the reference `nix-daemon` and against tix's:
 * one scenario of Store calls, run in a fresh root at the same directory for
 * each daemon; the results must be identical (issue 6: "tix's client against
 * the reference daemon").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WireWriter, hashBytes, StorePath } from '../../src/formats/index.js';
import { RemoteStore, unixConnector } from '../../src/protocol/index.js';
import { REF_BIN, TIX_BIN, haveReference, makeRoot, normalise, runRef, runTix } from '../harness/index.js';
import { runRefAsync, startNixDaemon } from './daemon-harness.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const narOf = (s: string): Uint8Array =>
  new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('contents').string(s).string(')').take();
async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}
async function collect(src: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts).toString('hex');
}

async function scenario(kind: 'ref' | 'tix', dir: string): Promise<unknown[]> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir, conf: 'trusted-users = root' });
  writeFileSync(join(dir, 'x.nix'), 'derivation { name = "x"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo log-line; echo out > $out"]; }');
  const d = await startNixDaemon(kind, root);
  const s = new RemoteStore({ storeDir: root.storeDir, connect: unixConnector(d.socket) });
  const sd = s.storeDir;
  const show = (p: StorePath | undefined): string => (p ? p.baseName : '-');
  const r: unknown[] = [];
  try {
    const info = await s.getInfo();
    r.push(['daemon version', info.daemonVersion]);
    const text = await s.addTextToStore('t.txt', enc('text\n'), []);
    r.push(['text', show(text)]);
    const flat = await s.addToStore({ name: 'flat', method: 'flat', hashAlgo: 'sha256', source: once(enc('flat')) });
    r.push(['flat', show(flat.path), flat.ca, flat.narHash.base16, flat.narSize]);
    const rec = await s.addToStore({ name: 'rec', method: 'recursive', hashAlgo: 'sha256', source: once(narOf('rec')), references: [text] });
    r.push(['rec', show(rec.path), rec.ca, rec.references.map(show)]);
    const nar = narOf('imported');
    const ipath = sd.makeFixedOutputPath({ recursive: true, hash: hashBytes('sha256', nar), name: 'imp' });
    await s.addToStoreNar({ path: ipath, narHash: hashBytes('sha256', nar), narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:${hashBytes('sha256', nar).toString('base32')}` }, once(nar));
    const ii = await s.queryPathInfo(ipath);
    r.push(['imported', ii?.narHash.base16, ii?.narSize, ii?.ca]);
    r.push(['nar', await collect(s.narFromPath(rec.path))]);
    r.push(['referrers', (await s.queryReferrers(text)).map(show)]);
    r.push(['valid', (await s.queryValidPaths([text, new StorePath('0'.repeat(32) + '-no')])).map(show)]);
    r.push(['all', (await s.queryAllValidPaths()).map(show).sort()]);
    r.push(['hash part', show(await s.queryPathFromHashPart(text.hashPart)), show(await s.queryPathFromHashPart('0'.repeat(32)))]);
    r.push(['invalid info', await s.queryPathInfo(new StorePath('0'.repeat(32) + '-no'))]);
    await s.addTempRoot(rec.path);
    await assert.rejects(s.ensurePath(new StorePath('0'.repeat(32) + '-no')), (e: Error) => (r.push(['ensure', e.message.replace(/\x1b\[[0-9;]*m/g, '')]), true));
    const drvOut = runRef(root, 'nix-instantiate', ['x.nix'], { env: { NIX_REMOTE: 'daemon' } }).stdout.trim();
    const drv = sd.parse(drvOut);
    const missing = await s.queryMissing([{ kind: 'built', drvPath: drv, outputs: ['out'] }]);
    r.push(['missing', missing.willBuild.map(show), missing.unknown.map(show)]);
    const results = await s.buildPathsWithResults([{ kind: 'built', drvPath: drv, outputs: ['out'] }]);
    r.push(['build', results.map((b) => [b.status, b.errorMsg, [...b.builtOutputs.entries()].map(([k, v]) => [k, show(v)])])]);
    const outs = await s.queryDerivationOutputMap(drv);
    r.push(['outputs', [...outs.entries()].map(([k, v]) => [k, show(v)])]);
    r.push(['verify', await s.verifyStore(false, false)]);
    const dead = await s.collectGarbage({ action: 'returnDead' });
    r.push(['dead', dead.paths.map((p) => p.slice(p.lastIndexOf('/') + 1)).sort()]);
    return r;
  } finally {
    await s.close();
    await d.stop();
    root.cleanup();
  }
}

test('RemoteStore gives the same results against the reference daemon and against tix', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-dclient-'));
  try {
    const ref = await scenario('ref', join(base, 'r'));
    if (process.env.TIX_DEBUG) console.log(JSON.stringify(ref));
    const tix = await scenario('tix', join(base, 'r'));
    for (const [i, row] of ref.entries()) assert.deepEqual(tix[i], row, `row ${i}`);
    assert.equal(ref.length, tix.length);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/**
 * tix's CLI commands that open their store through `openStore` (so honour
 * NIX_REMOTE=daemon) against the reference daemon: same stdout as the
 * reference CLI against the same daemon. (The nix-store/nix store commands
 * still open the local store directly; see the issue 6 report.)
 */
test('tix CLI through the reference daemon: nix-instantiate, nix-build, nix build', { skip: !haveReference() }, async () => {
  const base = mkdtempSync(join(tmpdir(), 'tix-dcli-'));
  const EXPR = 'derivation { name = "e"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo hi > $out"]; }';
  const cmds: [string, string[]][] = [
    ['nix-instantiate', ['x.nix']],
    ['nix-build', ['x.nix', '--no-out-link']],
    ['nix', ['build', '--impure', '--expr', EXPR, '--no-link', '--json']],
  ];
  try {
    const outs: Record<string, string[]> = {};
    for (const kind of ['ref', 'tix'] as const) {
      const dir = join(base, 'r');
      mkdirSync(dir, { recursive: true });
      const root = makeRoot({ dir, conf: 'trusted-users = root' });
      writeFileSync(join(dir, 'x.nix'), 'derivation { name = "x"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "echo out > $out"]; }');
      const d = await startNixDaemon('ref', root);
      try {
        outs[kind] = [];
        for (const [prog, args] of cmds) {
          const r = await runRefAsync(root, prog, args, { NIX_REMOTE: 'daemon' }, kind === 'ref' ? REF_BIN : TIX_BIN);
          outs[kind]!.push(`${r.status} ${normalise(r.stdout.trim(), root)}`);
        }
      } finally {
        await d.stop();
        root.cleanup();
      }
    }
    assert.deepEqual(outs.tix, outs.ref);
    assert.ok(outs.ref!.every((o) => o.startsWith('0 ')), JSON.stringify(outs.ref));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/**
 * nix-store --export / --import through the reference daemon: tix's export
 * stream is byte-identical to the reference client's, and tix's import of it
 * (into the same store after deleting the paths) registers what the
 * reference's import registers.
 */
test('tix CLI through the reference daemon: nix-store --export and --import', { skip: !haveReference() }, async () => {
  const root = makeRoot({ conf: 'trusted-users = root' });
  writeFileSync(join(root.dir, 'x.nix'), 'derivation { name = "x"; system = builtins.currentSystem; builder = "/bin/bash"; args = ["-c" "/bin/mkdir -p $out/d; echo out > $out/d/f"]; }');
  writeFileSync(join(root.dir, 'f.txt'), 'file\n');
  const d = await startNixDaemon('ref', root);
  const viaDaemon = { env: { NIX_REMOTE: 'daemon' } };
  const info = (paths: string[]): string => runRef(root, 'nix', ['path-info', '--json', ...paths], viaDaemon).stdout.replace(/"registrationTime":\d+/g, '');
  try {
    const built = runRef(root, 'nix-build', ['x.nix', '--no-out-link'], viaDaemon);
    assert.equal(built.status, 0, built.stderr);
    const out = built.stdout.trim();
    const f = runRef(root, 'nix-store', ['--add', 'f.txt'], viaDaemon).stdout.trim();
    const ref = runRef(root, 'nix-store', ['--export', out, f], viaDaemon);
    const tix = runTix(root, 'nix-store', ['--export', out, f], viaDaemon);
    assert.equal(tix.status, 0, tix.stderr);
    assert.ok(ref.stdoutBytes.length > 500);
    assert.ok(tix.stdoutBytes.equals(ref.stdoutBytes), 'same export stream');
    const imported: Record<string, string> = {};
    for (const [kind, run] of [['ref', runRef], ['tix', runTix]] as const) {
      assert.equal(runRef(root, 'nix-store', ['--delete', out, f], viaDaemon).status, 0);
      const r = run(root, 'nix-store', ['--import'], { ...viaDaemon, input: ref.stdoutBytes });
      assert.equal(r.status, 0, r.stderr);
      imported[kind] = `${r.stdout}\n${info([out, f])}`;
    }
    assert.equal(imported.tix, imported.ref);
    assert.match(imported.ref!, /"narHash"/);
  } finally {
    await d.stop();
    root.cleanup();
  }
});

/**
 * `nix-store --print-env` and `--repair-path` against the reference Nix 2.8:
 * same stdout bytes, stderr and status on the same store root, including the
 * usage errors; repair of a corrupted output restores its contents on both.
 * `--generate-binary-cache-key`: the reference signs with tix's secret key
 * file and the signature verifies against tix's public key file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, ok, sameOnRoot } from '../harness/index.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

// Quotes, `$`, a non-ASCII value and an argument with spaces exercise the escaping.
const DRV_NIX = `derivation {
  name = "env-test"; system = builtins.currentSystem; builder = "/bin/bash";
  args = [ "-c" "echo hello > $out; echo 'it''s built'" ];
  quoted = "it's \\"q\\" $HOME caf\\u00e9";
  empty = "";
  multi = "line1\\nline2";
}`;

test('nix-store --print-env prints the same environment and errors as 2.8', { skip, timeout: 120_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'a.nix'), DRV_NIX);
    const drv = ok(runRef(root, 'nix-instantiate', ['a.nix']), 'instantiate').trim();
    sameOnRoot(root, 'nix-store', ['--print-env', drv]);
    sameOnRoot(root, 'nix-store', ['--print-env']);
    sameOnRoot(root, 'nix-store', ['--print-env', drv, drv]);
    sameOnRoot(root, 'nix-store', ['--print-env', '--foo', drv]);
    sameOnRoot(root, 'nix-store', ['--print-env', '/etc/passwd']);
    sameOnRoot(root, 'nix-store', ['--print-env', drv.replace(/.\.drv$/, 'x.drv').replace(/-env-test/, '-env-tesx')]);
  } finally {
    root.cleanup();
  }
});

test('nix-store --repair-path checks and repairs outputs like 2.8', { skip, timeout: 180_000 }, () => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'a.nix'), DRV_NIX);
    const drv = ok(runRef(root, 'nix-instantiate', ['a.nix']), 'instantiate').trim();
    const out = ok(runRef(root, 'nix-store', ['-r', drv]), 'build').trim();
    sameOnRoot(root, 'nix-store', ['--repair-path', out]);
    sameOnRoot(root, 'nix-store', ['--repair-path', drv]);
    sameOnRoot(root, 'nix-store', ['--repair-path', '--foo']);
    sameOnRoot(root, 'nix-store', ['--repair-path', out.replace(/-env-test$/, '-env-tesx')]);
    for (const [side, run] of [['ref', runRef], ['tix', runTix]] as const) {
      chmodSync(out, 0o644);
      writeFileSync(out, 'corrupted\n');
      const r = run(root, 'nix-store', ['--repair-path', out]);
      assert.equal(r.status, 0, `${side}: ${r.stderr}`);
      assert.match(r.stderr, /is corrupted or missing!/, side);
      assert.match(r.stderr, /repairing outputs of/, side);
      assert.equal(readFileSync(out, 'utf8'), 'hello\n', `${side} restored the contents`);
      ok(runRef(root, 'nix-store', ['--verify-path', out]), `${side}: verify-path after repair`);
    }
  } finally {
    root.cleanup();
  }
});

test('nix-store --generate-binary-cache-key writes keys the reference signs and verifies with', { skip, timeout: 60_000 }, () => {
  const root = makeRoot();
  try {
    const sk = join(root.dir, 'sk');
    const pk = join(root.dir, 'pk');
    ok(runTix(root, 'nix-store', ['--generate-binary-cache-key', 'tix-test-1', sk, pk]), 'generate');
    assert.equal(statSync(sk).mode & 0o777, 0o600, 'secret key is private');
    const pub = readFileSync(pk, 'utf8');
    assert.match(pub, /^tix-test-1:[A-Za-z0-9+/]{43}=$/);
    writeFileSync(join(root.dir, 'f'), 'signed\n');
    const path = ok(runRef(root, 'nix-store', ['--add', join(root.dir, 'f')]), 'add').trim();
    ok(runRef(root, 'nix', ['store', 'sign', '--key-file', sk, path]), 'reference signs with the tix key');
    const info = JSON.parse(ok(runRef(root, 'nix', ['path-info', '--json', path]), 'path-info'))[0];
    const sig = (info.signatures as string[]).find((s) => s.startsWith('tix-test-1:'));
    assert.ok(sig !== undefined, 'signature recorded');
    const narHash = ok(runRef(root, 'nix-store', ['-q', '--hash', path]), 'hash').trim();
    const fingerprint = `1;${path};${narHash};${info.narSize};`;
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub.split(':')[1]!, 'base64').toString('base64url') }, format: 'jwk' });
    assert.ok(verify(null, Buffer.from(fingerprint), key, Buffer.from(sig.split(':')[1]!, 'base64')), 'signature verifies with the public key file');
    const bad = runTix(root, 'nix-store', ['--generate-binary-cache-key', 'only-two', sk]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /three arguments expected/);
  } finally {
    root.cleanup();
  }
});

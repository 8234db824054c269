/** Gating and session lifecycle (spec recursive-nix.md §2, §6). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Settings } from '../../core/index.js';
import { recursiveNixRemote, requireRecursiveNix, wantsRecursiveNix, withRecursiveFeature } from './gating.js';
import { RecursiveRegistry } from './registry.js';
import { makeFixture } from './test-support.js';

test('the experimental feature adds recursive-nix to the system features', () => {
  const on = new Settings();
  on.set('experimental-features', 'nix-command recursive-nix');
  const off = new Settings();
  off.set('experimental-features', 'nix-command');
  assert.deepEqual(withRecursiveFeature(['foo'], on), ['foo', 'recursive-nix']);
  assert.deepEqual(withRecursiveFeature(['foo', 'recursive-nix'], on), ['foo', 'recursive-nix']);
  assert.deepEqual(withRecursiveFeature(['benchmark', 'big-parallel'], off), ['benchmark', 'big-parallel']);
  assert.throws(() => requireRecursiveNix(off), {
    message: "experimental Nix feature 'recursive-nix' is disabled; use '--extra-experimental-features recursive-nix' to override",
  });
});

test('only derivations requiring recursive-nix get a socket; NIX_REMOTE form', () => {
  assert.equal(wantsRecursiveNix(['recursive-nix']), true);
  assert.equal(wantsRecursiveNix(['kvm']), false);
  assert.equal(wantsRecursiveNix([]), false);
  assert.equal(recursiveNixRemote('/build'), 'unix:///build/.nix-socket');
  assert.equal(recursiveNixRemote('/tmp/nix-build-x.drv-0'), 'unix:///tmp/nix-build-x.drv-0/.nix-socket');
});

test('a session needs the experimental feature', () => {
  const s = new Settings();
  assert.throws(() => makeFixture({ settings: s }), /experimental Nix feature 'recursive-nix' is disabled/);
});

test('sessions register depth and leave the registry on close', async () => {
  const registry = new RecursiveRegistry();
  const f = makeFixture({ registry });
  assert.equal(f.session.depth, 1);
  assert.equal(registry.wouldDeadlock(registry.register('other'), f.outerDrv.baseName), false);
  await f.session.close();
  await assert.rejects(() => f.session.store.addTextToStore('late', new Uint8Array([1]), []), /enclosing build has finished/);
});

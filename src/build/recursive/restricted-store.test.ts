/**
 * RestrictedStore against a fake host store: the 2.8 behaviour of spec
 * recursive-nix.md §3.3 (allowed set, censoring, no-op GC, Appendix A texts)
 * and tix's stricter checks (§9, issue 8 §6.1–6.2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashBytes } from '../../formats/index.js';
import type { DerivedPath } from '../../store/index.js';
import { builtResult } from './fake-store.js';
import { bytesOf, collectText, makeFixture, plainDrv } from './test-support.js';

test('input closure: path info is visible and censored', async () => {
  const f = makeFixture();
  const info = await f.session.store.queryPathInfo(f.input);
  assert.ok(info);
  assert.equal(info.deriver, undefined);
  assert.equal('deriver' in info, false);
  assert.equal(info.registrationTime, 0);
  assert.equal(info.ultimate, false);
  assert.deepEqual(info.sigs, []);
  const real = (await f.host.queryPathInfo(f.input))!;
  assert.ok(info.narHash.equals(real.narHash));
  assert.equal(info.narSize, real.narSize);
  assert.deepEqual(info.references.map(String), [f.inputDep.baseName]);
});

test('a path outside the allowed set is reported invalid', async () => {
  const f = makeFixture();
  const s = f.session.store;
  assert.equal(await s.queryPathInfo(f.unreachable), undefined);
  assert.equal(await s.isValidPath(f.unreachable), false);
  assert.equal(await s.isValidPath(f.input), true);
  assert.deepEqual((await s.queryValidPaths([f.input, f.unreachable], { substitute: true })).map(String), [f.input.baseName]);
  assert.deepEqual((await s.queryAllValidPaths()).map(String).sort(), [f.input.baseName, f.inputDep.baseName].sort());
  // The outer drv itself is not an input (2.8: path-info --all lists only the inputs).
  assert.equal(await s.isValidPath(f.outerDrv), false);
});

test('referrers, derivers, roots and GC reveal nothing and do nothing', async () => {
  const f = makeFixture();
  const s = f.session.store;
  assert.deepEqual(await s.queryReferrers(f.inputDep), []);
  assert.deepEqual(await s.queryValidDerivers(f.input), []);
  assert.equal((await s.findRoots(false)).size, 0);
  assert.deepEqual(await s.collectGarbage({ action: 'deleteSpecific', pathsToDelete: [f.input] }), { paths: [], bytesFreed: 0 });
  await s.addTempRoot(f.unreachable);
  await s.addIndirectRoot('/tmp/x');
  assert.equal(f.host.tempRoots.has(f.unreachable.baseName), false);
  assert.equal(await s.verifyStore(true, false), false);
  assert.equal(await s.getBuildLog(f.input), undefined);
  // Reverse closures stop at the start set; forward closures stay inside the set.
  assert.deepEqual([...(await s.computeFSClosure([f.inputDep], { flipDirection: true }))], [f.host.storeDir.print(f.inputDep)]);
  assert.deepEqual([...(await s.computeFSClosure([f.input, f.unreachable]))].sort(), [f.input, f.inputDep].map((p) => f.host.storeDir.print(p)).sort());
});

const P = (f: ReturnType<typeof makeFixture>, p: { baseName: string }) => `${f.host.storeDir.dir}/${p.baseName}`;

test('Appendix A texts for unknown paths and refused ops', async () => {
  const f = makeFixture();
  const s = f.session.store;
  const u = P(f, f.unreachable);
  const cases: [string, () => Promise<unknown>, string][] = [
    ['ensurePath', () => s.ensurePath(f.unreachable), `cannot substitute unknown path '${u}' in recursive Nix`],
    ['outputMap', () => s.queryDerivationOutputMap(f.unreachable), `cannot query output map for unknown path '${u}' in recursive Nix`],
    ['build opaque', () => s.buildPaths([{ kind: 'opaque', path: f.unreachable }]), `cannot build '${u}' in recursive Nix because path is unknown`],
    ['build drv', () => s.buildPaths([{ kind: 'built', drvPath: f.unreachable, outputs: ['out'] }]), `cannot build '${u}!out' in recursive Nix because path is unknown`],
    ['build drv *', () => s.buildPaths([{ kind: 'built', drvPath: f.unreachable, outputs: 'all' }]), `cannot build '${u}!*' in recursive Nix because path is unknown`],
    ['check mode', () => s.buildPaths([{ kind: 'opaque', path: f.input }], 'check'), 'unsupported build mode'],
    ['repair mode', () => s.buildPaths([{ kind: 'opaque', path: f.input }], 'repair'), 'unsupported build mode'],
    ['hash part', () => s.queryPathFromHashPart(f.input.hashPart), 'queryPathFromHashPart'],
    ['buildDerivation', () => s.buildDerivation(f.input), "operation 'buildDerivation' is not supported by store 'local'"],
    ['addSignatures', () => s.addSignatures(f.input), "operation 'addSignatures' is not supported by store 'local'"],
    ['addBuildLog', () => s.addBuildLog(f.input), "operation 'addBuildLog' is not supported by store 'local'"],
    ['narFromPath (beyond 2.8)', () => collectText(s.narFromPath(f.unreachable)), `cannot dump unknown path '${u}' in recursive Nix`],
  ];
  for (const [name, fn, text] of cases) {
    await assert.rejects(fn, (e: Error) => e.message === text, name);
  }
  assert.equal(f.host.builds.length, 0, 'a refused request builds nothing');
  await s.ensurePath(f.input);
});

test('a request with one unknown target builds nothing at all', async () => {
  const f = makeFixture();
  f.host.onBuild = async (ps) => ps.map((p) => builtResult(p, {}));
  await assert.rejects(() => f.session.store.buildPaths([{ kind: 'opaque', path: f.input }, { kind: 'opaque', path: f.unreachable }]));
  assert.equal(f.host.builds.length, 0);
});

test('narFromPath of an allowed path streams the host contents', async () => {
  const f = makeFixture();
  assert.equal(await collectText(f.session.store.narFromPath(f.inputDep)), 'dependency');
});

test('adds join the allowed set and are temp-rooted on the host', async () => {
  const f = makeFixture();
  const s = f.session.store;
  const p = await s.addTextToStore('foobar', new Uint8Array(Buffer.from('foo')), [f.input]);
  assert.equal(await s.isValidPath(p), true);
  assert.ok(f.host.tempRoots.has(p.baseName));
  const info = await s.addToStore({ name: 'hello.txt', method: 'text', hashAlgo: 'sha256', source: bytesOf('hello') });
  assert.equal(info.ultimate, false);
  assert.equal(await s.isValidPath(info.path), true);
  assert.deepEqual(f.session.addedPaths().map(String).sort(), [p.baseName, info.path.baseName].sort());
  assert.equal((await s.queryAllValidPaths()).length, 4);
});

test('beyond 2.8: claimed references outside the allowed set are refused (every add op)', async () => {
  const f = makeFixture();
  const s = f.session.store;
  const u = P(f, f.unreachable);
  const forged = (name: string) => `cannot add '${name}' in recursive Nix: it claims a reference to '${u}', which this build may not access`;
  await assert.rejects(() => s.addTextToStore('x', new Uint8Array([1]), [f.unreachable]), { message: forged('x') });
  await assert.rejects(
    () => s.addToStore({ name: 'y', method: 'recursive', hashAlgo: 'sha256', source: bytesOf('nar'), references: [f.input, f.unreachable] }),
    { message: forged('y') },
  );
  const fresh = f.host.storeDir.makeTextPath('z', hashBytes('sha256', 'z'), []);
  const info = { path: fresh, narHash: hashBytes('sha256', 'z'), narSize: 1, references: [f.unreachable], registrationTime: 0, ultimate: false, sigs: [] };
  await assert.rejects(() => s.addToStoreNar(info, bytesOf('z')), { message: forged(P(f, fresh)) });
  assert.equal(f.host.infos.size, 4, 'nothing reached the host store');
  assert.equal(f.session.addedPaths().length, 0);
});

test('beyond 2.8: an already-valid path cannot be "added" without its real contents', async () => {
  const f = makeFixture();
  const s = f.session.store;
  const real = (await f.host.queryPathInfo(f.unreachable))!;
  const claim = { ...real, references: [], ultimate: true };
  await assert.rejects(() => s.addToStoreNar(claim, bytesOf('made up')), /already valid and the given contents differ/);
  assert.equal(await s.isValidPath(f.unreachable), false);
  // Knowing the contents proves nothing is leaked: then the add succeeds.
  await s.addToStoreNar(claim, bytesOf('top secret'));
  assert.equal(await s.isValidPath(f.unreachable), true);
});

test('a derivation is buildable once its .drv is allowed; the outputs\' closure joins', async () => {
  const f = makeFixture();
  const s = f.session.store;
  const fnord = await s.addTextToStore('fnord', new Uint8Array(Buffer.from('fnord')), []);
  const drv = await s.addTextToStore('inner1.drv', new Uint8Array(Buffer.from('Derive(inner1)')), [fnord]);
  const innerDep = f.host.put('inner-dep', 'runtime dep');
  const out = f.host.storeDir.makeTextPath('inner1', hashBytes('sha256', 'o'), []);
  f.drvs.set(drv.baseName, plainDrv(out));
  f.host.onBuild = async (ps) => {
    f.host.register(out, new Uint8Array(Buffer.from('blaat')), [fnord, innerDep]);
    return ps.map((p) => builtResult(p, { out }));
  };
  assert.equal(await s.isValidPath(out), false);
  const target: DerivedPath = { kind: 'built', drvPath: drv, outputs: ['out'] };
  const [r] = await s.buildPathsWithResults([target]);
  assert.equal(r!.status, 0);
  for (const p of [out, innerDep, fnord]) {
    assert.equal(await s.isValidPath(p), true, p.name);
    assert.ok(f.host.tempRoots.has(p.baseName), `temp root ${p.name}`);
  }
  assert.ok(f.session.addedPaths().some((p) => p.equals(out)));
  assert.equal(await s.isValidPath(f.unreachable), false);
});

test('outputs come from the output map when builtOutputs is empty (already valid)', async () => {
  const f = makeFixture();
  const s = f.session.store;
  const drv = await s.addTextToStore('v.drv', new Uint8Array([1, 2]), []);
  const out = f.host.put('v', 'valid already');
  f.host.outputMaps.set(drv.baseName, new Map([['out', out]]));
  f.drvs.set(drv.baseName, plainDrv(out));
  f.host.onBuild = async (ps) => ps.map((p) => ({ ...builtResult(p, {}), status: 2 as const }));
  await s.buildPaths([{ kind: 'built', drvPath: drv, outputs: 'all' }]);
  assert.equal(await s.isValidPath(out), true);
});

test('a failed inner build fails buildPaths with its message and adds nothing', async () => {
  const f = makeFixture();
  const s = f.session.store;
  const drv = await s.addTextToStore('bad.drv', new Uint8Array([3]), []);
  f.drvs.set(drv.baseName, plainDrv(undefined));
  f.host.onBuild = async (ps) => ps.map((p) => ({ ...builtResult(p, {}), status: 3 as const, errorMsg: 'builder for bad.drv failed with exit code 1' }));
  await assert.rejects(() => s.buildPaths([{ kind: 'built', drvPath: drv, outputs: 'all' }]), { message: 'builder for bad.drv failed with exit code 1' });
  assert.equal(f.session.addedPaths().length, 1);
});

test('queryMissing puts unknown targets in unknown', async () => {
  const f = makeFixture();
  const m = await f.session.store.queryMissing([{ kind: 'opaque', path: f.unreachable }, { kind: 'opaque', path: f.input }]);
  assert.deepEqual(m.unknown.map(String), [f.unreachable.baseName]);
});

test('closing the store never closes the host store', async () => {
  let closed = false;
  const f = makeFixture();
  f.host.close = async () => {
    closed = true;
  };
  await f.session.store.close();
  assert.equal(closed, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { NixError } from '../../core/index.js';
import { WireParser, WireWriter, hashBytes, type StorePath } from '../../formats/index.js';
import type { DerivedPath, Store } from '../../store/store.js';
import { MemoryStore, narOfFile } from '../testing/memory-store.js';
import { renderedErrorMsg } from './build.js';
import { dependenciesFirst } from './export-stream.js';
import { serveLegacy } from './server.js';
import type { BuildOverrides, ServeLegacyOptions } from './session.js';

const SD = '/nix/store';
const enc = new TextEncoder();
const w = (): WireWriter => new WireWriter(64);
const hello = (version = 0x207): WireWriter => w().u64(0x390c9deb).u64(version);

interface Session {
  out: Uint8Array;
  error?: NixError;
}

/**
 * Run a session over in-memory streams. Input ends once `done(output)` holds
 * (a client waiting for a build keeps its end open), or at once.
 */
async function run(store: Store, input: Uint8Array, opts: Partial<ServeLegacyOptions> = {}, done?: (out: Uint8Array) => boolean): Promise<Session> {
  const i = new PassThrough();
  const o = new PassThrough();
  const parts: Buffer[] = [];
  const outOf = (): Uint8Array => new Uint8Array(Buffer.concat(parts));
  o.on('data', (c: Buffer) => {
    parts.push(c);
    if (done?.(outOf())) i.end();
  });
  i.write(input);
  if (done === undefined) i.end();
  try {
    await serveLegacy({ input: i, output: o }, store, { writeAllowed: false, ...opts });
    return { out: outOf() };
  } catch (e) {
    assert.ok(e instanceof NixError, `not a NixError: ${String(e)}`);
    return { out: outOf(), error: e };
  }
}

async function fixture(): Promise<{ store: MemoryStore; dep: StorePath; top: StorePath }> {
  const store = new MemoryStore(SD);
  const dep = await store.addTextToStore('dep', enc.encode('dep'), []);
  const top = await store.addTextToStore('top', enc.encode(`uses ${store.storeDir.print(dep)}`), [dep]);
  return { store, dep, top };
}

/** The reply after the 16-byte greeting. */
function reply(s: Session): WireParser {
  const p = new WireParser(s.out);
  assert.equal(p.u64(), 0x5452eecb);
  assert.equal(p.u64(), 0x207);
  return p;
}

test('greeting: magic 2 and version 2.7; end of input is a clean end', async () => {
  const { store } = await fixture();
  const s = await run(store, hello().take());
  assert.equal(s.error, undefined);
  assert.equal(reply(s).remaining, 0);
});

const ERRORS: [string, (f: { top: StorePath }) => Uint8Array, string, Partial<ServeLegacyOptions>?][] = [
  ['empty input', () => new Uint8Array(0), 'unexpected end-of-file'],
  ['bad magic', () => w().u64(7).take(), 'protocol mismatch'],
  ['oversized magic', () => w().u64(1n << 40n).take(), "serialised integer 1099511627776 is too large for type 'j'"],
  ['unknown command', () => hello().u64(99).take(), 'unknown serve command 99'],
  ['import refused', () => hello().u64(4).take(), 'importing paths is not allowed'],
  ['AddToStoreNar refused', () => hello().u64(9).take(), 'importing paths is not allowed'],
  ['build refused', () => hello().u64(6).strings([]).take(), 'building paths is not allowed'],
  ['BuildDerivation refused', () => hello().u64(8).take(), 'building paths is not allowed'],
  ['truncated request', () => hello().u64(1).u64(0).take(), 'unexpected end-of-file'],
  ['path outside the store', () => hello().u64(2).strings(['/etc/passwd']).take(), "path '/etc/passwd' is not in the Nix store"],
  ['dump of an invalid path', () => hello().u64(3).string(`${SD}/${'1'.repeat(32)}-x`).take(), `path '${SD}/${'1'.repeat(32)}-x' is not valid`],
  ['zero narSize', (f) => hello().u64(9).string(`${SD}/${'1'.repeat(32)}-x`).string('').string('0'.repeat(64)).strings([]).u64(0).u64(0).u64(0).strings([]).string('').take(), 'narInfo is too old and missing the narSize field', { writeAllowed: true }],
  ['not an export stream', () => hello().u64(4).u64(5).take(), "input doesn't look like something created by 'nix-store --export'", { writeAllowed: true }],
];

for (const [name, input, message, opts] of ERRORS) {
  test(`errors end the session: ${name}`, async () => {
    const f = await fixture();
    const s = await run(f.store, input(f), opts);
    assert.ok(s.error, 'expected an error');
    assert.match(s.error.message, new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
}

test('QueryValidPaths, QueryPathInfos and QueryClosure answer as 2.8', async () => {
  const { store, dep, top } = await fixture();
  const missing = `${SD}/${'2'.repeat(32)}-missing`;
  const print = (p: StorePath): string => store.storeDir.print(p);
  const input = hello()
    .u64(1).u64(0).u64(0).strings([print(top), missing, print(dep)])
    .u64(2).strings([print(top), missing])
    .u64(7).u64(0).strings([print(top)])
    .take();
  const s = await run(store, input);
  assert.equal(s.error, undefined);
  const p = reply(s);
  assert.deepEqual(p.strings(), [print(dep), print(top)].sort());
  const info = (await store.queryPathInfo(top))!;
  assert.equal(p.string(), print(top));
  assert.equal(p.string(), ''); // deriver
  assert.deepEqual(p.strings(), [print(dep)]);
  assert.equal(p.u64(), info.narSize);
  assert.equal(p.u64(), info.narSize);
  assert.equal(p.string(), info.narHash.toString('base32', true));
  assert.equal(p.string(), info.ca);
  assert.deepEqual(p.strings(), []);
  assert.equal(p.string(), ''); // end of the infos
  assert.deepEqual(p.strings(), [print(dep), print(top)].sort());
  assert.equal(p.remaining, 0);
});

test('QueryPathInfos for a 2.3 client omits the hash, ca and signatures', async () => {
  const { store, top } = await fixture();
  const s = await run(store, hello(0x203).u64(2).strings([store.storeDir.print(top)]).take());
  const p = reply(s);
  p.string();
  p.string();
  p.strings();
  p.u64();
  p.u64();
  assert.equal(p.string(), '');
  assert.equal(p.remaining, 0);
});

test('ExportPaths sends dependencies first; ImportPaths adds them to another store', async () => {
  const { store, dep, top } = await fixture();
  assert.deepEqual((await dependenciesFirst(store, [top, dep])).map((p) => p.name), ['dep', 'top']);
  const exp = await run(store, hello().u64(5).u64(0).strings([store.storeDir.print(top), store.storeDir.print(dep)]).take());
  assert.equal(exp.error, undefined);
  const stream = exp.out.subarray(16);
  const other = new MemoryStore(SD);
  const imp = await run(other, concat(hello().u64(4).take(), stream), { writeAllowed: true });
  assert.equal(imp.error, undefined);
  assert.equal(reply(imp).u64(), 1);
  assert.deepEqual((await other.queryPathInfo(top))?.references.map((r) => r.name), ['dep']);
  assert.deepEqual((await other.queryPathInfo(top))?.narHash.base16, (await store.queryPathInfo(top))?.narHash.base16);
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

test('AddToStoreNar adds a path; a valid one has its NAR skipped so the session goes on', async () => {
  const { store, dep } = await fixture();
  const nar = narOfFile(enc.encode('new contents'));
  const path = `${SD}/${'3'.repeat(32)}-added`;
  const add = (p: string, n: Uint8Array): WireWriter =>
    w().u64(9).string(p).string('').string(hashBytes('sha256', n).base16).strings([store.storeDir.print(dep)]).u64(0).u64(n.length).u64(1).strings(['k:c2ln']).string('').raw(n);
  const other = narOfFile(enc.encode('ignored'));
  const input = concat(concat(hello().take(), add(path, nar).take()), concat(add(store.storeDir.print(dep), other).take(), w().u64(1).u64(0).u64(0).strings([path]).take()));
  const s = await run(store, input, { writeAllowed: true });
  assert.equal(s.error, undefined);
  const p = reply(s);
  assert.equal(p.u64(), 1);
  assert.equal(p.u64(), 1);
  assert.deepEqual(p.strings(), [path]);
  const info = (await store.queryPathInfo(store.storeDir.parse(path)))!;
  assert.deepEqual(info.sigs, ['k:c2ln']);
  assert.equal(info.ultimate, true);
});

test('a hash mismatch ends the session and adds nothing', async () => {
  const { store } = await fixture();
  const nar = narOfFile(enc.encode('x'));
  const path = `${SD}/${'4'.repeat(32)}-bad`;
  const input = hello().u64(9).string(path).string('').string('00'.repeat(32)).strings([]).u64(0).u64(nar.length).u64(0).strings([]).string('').raw(nar).take();
  const s = await run(store, input, { writeAllowed: true });
  assert.match(s.error?.message ?? '', /hash mismatch importing path/);
  assert.equal(await store.isValidPath(store.storeDir.parse(path)), false);
});

function buildReplyDone(out: Uint8Array): boolean {
  if (out.length < 24) return false;
  const p = new WireParser(out, 16);
  try {
    if (p.u64() !== 0) p.string();
    return true;
  } catch {
    return false;
  }
}

test('BuildPaths: settings by client version, success as 0, failure as status and rendered message', async () => {
  const { store, top } = await fixture();
  const seen: { overrides: BuildOverrides; paths: DerivedPath[] }[] = [];
  const make = (fail: boolean) => (overrides: BuildOverrides): Store =>
    Object.assign(Object.create(store) as Store, {
      buildPaths: async (paths: DerivedPath[]) => {
        seen.push({ overrides, paths });
        if (fail) throw new NixError('E0400', `build of '${store.storeDir.print(top)}' failed`, { exitCode: 100 });
      },
    });
  const drv = `${SD}/${'5'.repeat(32)}-x.drv`;
  const ok = await run(store, hello().u64(6).strings([`${drv}!out,dev`, store.storeDir.print(top)]).u64(3).u64(4).u64(5).u64(1).u64(1).u64(1).take(), { writeAllowed: true, buildStore: make(false) }, buildReplyDone);
  assert.equal(ok.error, undefined);
  assert.equal(reply(ok).u64(), 0);
  assert.deepEqual(Object.fromEntries(seen[0]!.overrides), {
    'keep-build-log': 'false', substitute: 'false', 'max-silent-time': '3', timeout: '4', 'max-log-size': '5', repeat: '1', 'enforce-determinism': 'true', 'keep-failed': 'true',
  });
  assert.deepEqual(seen[0]!.paths.map((p) => (p.kind === 'built' ? p.outputs : p.kind)), [['dev', 'out'], 'opaque']);
  const old = await run(store, hello(0x202).u64(6).strings([drv]).u64(3).u64(4).u64(5).take(), { writeAllowed: true, buildStore: make(true) }, buildReplyDone);
  const p = new WireParser(old.out, 16);
  assert.equal(p.u64(), 100);
  assert.equal(p.string(), renderedErrorMsg(`build of '${store.storeDir.print(top)}' failed`));
  assert.deepEqual(Object.fromEntries(seen[1]!.overrides), { 'keep-build-log': 'false', substitute: 'false', 'max-silent-time': '3', timeout: '4', 'max-log-size': '5' });
  assert.deepEqual(seen[1]!.paths, [{ kind: 'built', drvPath: store.storeDir.parse(drv), outputs: 'all' }]);
});

const RENDERED: [string, string][] = [
  ["build of '/nix/store/a-x.drv' failed", "\x1b[31;1merror:\x1b[0m build of \x1b[35;1m'/nix/store/a-x.drv'\x1b[0m failed"],
  ["build of '/nix/store/a-x.drv', '/nix/store/b-y.drv' failed", "\x1b[31;1merror:\x1b[0m build of \x1b[35;1m'/nix/store/a-x.drv', '/nix/store/b-y.drv'\x1b[0m failed"],
  ["builder for '/nix/store/a-x.drv' failed with exit code 3", "\x1b[31;1merror:\x1b[0m builder for '\x1b[35;1m/nix/store/a-x.drv\x1b[0m' failed with exit code 3"],
  ['plain text', '\x1b[31;1merror:\x1b[0m plain text'],
];

for (const [message, want] of RENDERED) {
  test(`renderedErrorMsg: ${message}`, () => assert.equal(renderedErrorMsg(message), want));
}

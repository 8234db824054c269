/**
 * The build commands of `nix-store --serve` (nix-store.cc `opServe`, Nix
 * 2.8): BuildPaths (`path[!out,…]` strings) and BuildDerivation (an inline
 * `BasicDerivation`, as the build hook of `--builders ssh://…` sends it).
 * Both need `--write`, read the client's build settings after the request
 * (`getBuildSettings`), and stop when the client hangs up (2.8 `MonitorFdHup`).
 *
 * BuildPaths sends a failure as the error's exit status and its rendered
 * text, which carries ANSI colours ("error:" in red, arguments in magenta);
 * `renderedErrorMsg` rebuilds that from our plain message. BuildDerivation
 * sends a BuildResult, whose message is the coloured hint without "error:".
 */
import { CoreErrorCode, NixError } from '../../core/index.js';
import { WireWriter, hashDerivationModulo, type Derivation, type StorePath } from '../../formats/index.js';
import type { BuildResult, DerivedPath, Store } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import { readBasicDerivation, writeBuildResult, type BasicDerivation } from '../worker/serialise.js';
import type { BuildOverrides, ServeSession } from './session.js';

/** 2.8 `getBuildSettings`: the fields present at the client's minor version. */
async function readBuildSettings(s: ServeSession): Promise<BuildOverrides> {
  const o: BuildOverrides = new Map([['keep-build-log', 'false'], ['substitute', 'false']]);
  o.set('max-silent-time', String(await s.readInt()));
  o.set('timeout', String(await s.readInt()));
  if (s.minor >= 2) o.set('max-log-size', String(await s.readNum()));
  if (s.minor >= 3) {
    o.set('repeat', String(await s.readInt()));
    o.set('enforce-determinism', (await s.readInt()) !== 0 ? 'true' : 'false');
  }
  if (s.minor >= 7) o.set('keep-failed', (await s.readInt()) !== 0 ? 'true' : 'false');
  return o;
}

/** 2.8 `parsePathWithOutputs` + `toDerivedPath`: outputs only count on a derivation; none means all. */
function parsePathWithOutputs(s: ServeSession, str: string): DerivedPath {
  const bang = str.indexOf('!');
  const path = s.sd.parse(bang < 0 ? str : str.slice(0, bang));
  if (!path.isDerivation()) return { kind: 'opaque', path };
  const outputs = bang < 0 ? [] : [...new Set(str.slice(bang + 1).split(',').filter((x) => x !== ''))].sort();
  return { kind: 'built', drvPath: path, outputs: outputs.length === 0 ? 'all' : outputs };
}

/** The text 2.8's `BaseError::msg()` gives for `message` (colours included). */
export function renderedErrorMsg(message: string): string {
  return `\x1b[31;1merror:\x1b[0m ${highlighted(message)}`;
}

/** 2.8's hint text: format arguments (here: quoted store paths) in magenta. */
function highlighted(message: string): string {
  const list = /^build of ('[^']*'(?:, '[^']*')*) failed$/.exec(message);
  // "build of %s failed" takes the quoted list as one argument; other messages quote inside the text.
  if (list) return `build of \x1b[35;1m${list[1]}\x1b[0m failed`;
  return message.replace(/'(\/[^'\s]*)'/g, "'\x1b[35;1m$1\x1b[0m'");
}

/** Run `fn` with the store to build with and a hang-up signal, as one operation. */
async function withBuildStore<T>(s: ServeSession, overrides: BuildOverrides, fn: (store: Store) => Promise<T>): Promise<T> {
  const signal = s.hangup.signal();
  const interrupted = (): NixError => new NixError(CoreErrorCode.E_INTERRUPTED, 'interrupted by the user');
  try {
    const store = s.opts.buildStore?.(overrides, signal) ?? s.store;
    let r: T;
    try {
      r = await fn(store);
    } catch (e) {
      throw signal.aborted ? interrupted() : e;
    }
    // 2.8's MonitorFdHup interrupts the build: the session ends with that error, not a reply.
    if (signal.aborted) throw interrupted();
    return r;
  } finally {
    s.hangup.opDone();
  }
}

function cannotBuild(what: string): NixError {
  return new NixError(ProtocolErrorCode.E_PROTOCOL_UNSUPPORTED, `operation '${what}' is not supported by this store`);
}

async function buildPaths(s: ServeSession): Promise<void> {
  s.requireWrite('building');
  const strings = await s.reader.parse((p) => p.strings(1 << 24, 1 << 16));
  const paths = strings.map((str) => parsePathWithOutputs(s, str));
  const overrides = await readBuildSettings(s);
  const w = new WireWriter(64);
  await withBuildStore(s, overrides, async (store) => {
    if (store.buildPaths === undefined) throw cannotBuild('buildPaths');
    try {
      await store.buildPaths(paths, 'normal');
      w.u64(0);
    } catch (e) {
      if (!(e instanceof NixError)) throw e;
      w.u64(e.exitCode).string(renderedErrorMsg(e.message));
    }
  });
  s.send(w);
}

/** The wire derivation as a `Derivation` (no inputDrvs), for its DrvOutput ids. */
function asDerivation(d: BasicDerivation, sd: ServeSession['sd']): Derivation {
  const bytes = (x: string): string => Buffer.from(x, 'utf8').toString('latin1');
  const outputs = new Map([...d.outputs].map(([n, o]) => [n, { path: o.path ? sd.print(o.path) : '', hashAlgo: o.hashAlgo, hash: o.hash }]));
  return {
    name: d.name, outputs, inputDrvs: new Map(), inputSrcs: new Set(d.inputSrcs.map((p) => sd.print(p))),
    platform: bytes(d.platform), builder: bytes(d.builder), args: d.args.map(bytes),
    env: new Map([...d.env].map(([k, v]) => [bytes(k), bytes(v)])),
  };
}

/** 2.8 `staticOutputHashes` (modulo hash, outputs masked) in base16, when it can be computed. */
function drvHashHex(d: BasicDerivation, s: ServeSession): string | undefined {
  try {
    const h = hashDerivationModulo(asDerivation(d, s.sd), { maskOutputs: true, resolve: () => { throw new Error('no inputDrvs'); } });
    return h.hashes.values().next().value?.base16;
  } catch {
    return undefined;
  }
}

function writeResult(s: ServeSession, r: BuildResult, hashHex: string | undefined): WireWriter {
  const w = new WireWriter(256);
  // A BuildResult carries the hint alone: no "error:" prefix, but the same colours.
  const res = r.errorMsg === '' || r.errorMsg.startsWith('\x1b') ? r : { ...r, errorMsg: `\x1b[0m${highlighted(r.errorMsg)}` };
  // 2.8 tests `GET_PROTOCOL_MINOR(clientVersion >= 6)`, true for every 2.x client: builtOutputs
  // always follow. That is the worker protocol's layout at 1.29 (with times) or 1.28 (without).
  if (s.clientVersion >= 6) {
    writeBuildResult(w, s.sd, res, s.minor >= 3 ? 29 : 28, hashHex);
    return w;
  }
  w.u64(res.status).string(res.errorMsg);
  if (s.minor >= 3) w.u64(res.timesBuilt).bool(res.isNonDeterministic).u64(Math.max(0, res.startTime)).u64(Math.max(0, res.stopTime));
  return w;
}

async function buildDerivation(s: ServeSession): Promise<void> {
  s.requireWrite('building');
  const drvPath: StorePath = await s.readPath();
  const name = drvPath.name.replace(/\.drv$/, '');
  const drv = await s.reader.parse((p) => readBasicDerivation(p, s.sd, name));
  const overrides = await readBuildSettings(s);
  const result = await withBuildStore(s, overrides, async (store) => {
    if (store.buildDerivation === undefined) throw cannotBuild('buildDerivation');
    return store.buildDerivation(drvPath, drv, 'normal');
  });
  s.send(writeResult(s, result, drvHashHex(drv, s)));
}

export const buildCommands = { buildPaths, buildDerivation };

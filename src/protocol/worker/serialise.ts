/**
 * Worker-protocol value types (libstore/worker-protocol.cc, path-info.cc,
 * daemon.cc): ValidPathInfo, BuildResult, DerivedPath, BasicDerivation and
 * the STDERR_ERROR record. `minor` is the negotiated minor version; every
 * optional field is gated on it exactly as spec §3/§10 says.
 */
import { NixError } from '../../core/index.js';
import { parseContentAddress, parseHash, StorePath, type StoreDir, type WireParser, type WireWriter } from '../../formats/index.js';
import type { BuildResult, BuildStatusCode, DerivedPath, ValidPathInfo, KeyedBuildResult } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';

/** Max items in a path set we accept (a guard against absurd counts). */
export const MAX_LIST = 1 << 24;

export function readStorePath(p: WireParser, sd: StoreDir): StorePath {
  return sd.parse(p.string(4096));
}

export function readOptStorePath(p: WireParser, sd: StoreDir): StorePath | undefined {
  const s = p.string(4096);
  return s === '' ? undefined : sd.parse(s);
}

export function readStorePaths(p: WireParser, sd: StoreDir): StorePath[] {
  return p.strings(MAX_LIST, 4096).map((s) => sd.parse(s));
}

export function writeStorePaths(w: WireWriter, sd: StoreDir, paths: Iterable<StorePath>): WireWriter {
  const arr = [...paths].map((p) => sd.print(p)).sort();
  return w.strings(arr);
}

/** Info fields after the path (QueryPathInfo reply form). */
export function writePathInfoBody(w: WireWriter, sd: StoreDir, info: ValidPathInfo, minor: number): void {
  w.string(info.deriver ? sd.print(info.deriver) : '');
  w.string(info.narHash.base16);
  writeStorePaths(w, sd, info.references);
  w.u64(Math.max(0, Math.floor(info.registrationTime)));
  w.u64(info.narSize);
  if (minor >= 16) {
    w.bool(info.ultimate);
    w.strings([...info.sigs].sort());
    w.string(info.ca ?? '');
  }
}

export function writePathInfo(w: WireWriter, sd: StoreDir, info: ValidPathInfo, minor: number): void {
  w.string(sd.print(info.path));
  writePathInfoBody(w, sd, info, minor);
}

function parseNarHash(s: string): ReturnType<typeof parseHash> {
  return parseHash(s, 'sha256');
}

export function readPathInfoBody(p: WireParser, sd: StoreDir, path: StorePath, minor: number): ValidPathInfo {
  const deriver = readOptStorePath(p, sd);
  const narHash = parseNarHash(p.string(1024));
  const references = readStorePaths(p, sd);
  const registrationTime = p.u64();
  const narSize = p.u64();
  const info: ValidPathInfo = { path, narHash, references, registrationTime, narSize, ultimate: false, sigs: [] };
  if (deriver) info.deriver = deriver;
  if (minor >= 16) {
    info.ultimate = p.bool();
    info.sigs = p.strings(MAX_LIST, 65536);
    for (const sig of info.sigs) {
      // Signatures are stored whitespace-separated: one with a blank would become two.
      if (!/^[^\s:]+:\S+$/.test(sig)) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `invalid signature '${sig}'`);
    }
    const ca = p.string(4096);
    if (ca !== '') {
      parseContentAddress(ca); // as 2.8's parseContentAddressOpt: reject malformed ones here
      info.ca = ca;
    }
  }
  return info;
}

export function readPathInfo(p: WireParser, sd: StoreDir, minor: number): ValidPathInfo {
  const path = readStorePath(p, sd);
  return readPathInfoBody(p, sd, path, minor);
}

/** DerivedPath as a string: ≥1.30 `drv!out,…` / `drv!*` / opaque; <1.30 bare drv = all outputs. */
export function printDerivedPath(sd: StoreDir, d: DerivedPath, minor: number): string {
  if (d.kind === 'opaque') return sd.print(d.path);
  const outs = d.outputs === 'all' ? (minor >= 30 ? '*' : '') : d.outputs.join(',');
  if (outs === '' && minor < 30) return sd.print(d.drvPath);
  return `${sd.print(d.drvPath)}!${outs}`;
}

export function parseDerivedPath(sd: StoreDir, s: string, minor: number): DerivedPath {
  const bang = s.indexOf('!');
  if (bang < 0) {
    const path = sd.parse(s);
    if (minor < 30 && path.isDerivation()) return { kind: 'built', drvPath: path, outputs: 'all' };
    return { kind: 'opaque', path };
  }
  const drvPath = sd.parse(s.slice(0, bang));
  const rest = s.slice(bang + 1);
  if (rest === '*' || rest === '') return { kind: 'built', drvPath, outputs: 'all' };
  return { kind: 'built', drvPath, outputs: rest.split(',') };
}

/** The DrvOutput key used in builtOutputs: `sha256:<hex>!out`; we have no hash modulo, so the path hash stands in. */
export function writeBuildResult(w: WireWriter, sd: StoreDir, r: BuildResult, minor: number, drvHashHex?: string): void {
  w.u64(r.status).string(r.errorMsg);
  if (minor >= 29) {
    w.u64(r.timesBuilt).bool(r.isNonDeterministic).u64(Math.max(0, r.startTime)).u64(Math.max(0, r.stopTime));
  }
  if (minor >= 37) w.u64(0).u64(0); // cpuUser, cpuSystem: absent
  if (minor >= 28) {
    const entries = [...r.builtOutputs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    w.u64(entries.length);
    for (const [name, path] of entries) {
      const id = `sha256:${drvHashHex ?? '0'.repeat(64)}!${name}`;
      w.string(id);
      w.string(JSON.stringify({ dependentRealisations: {}, id, outPath: path.baseName, signatures: [] }));
    }
  }
}

export function readBuildResult(p: WireParser, minor: number): BuildResult {
  const status = p.u64() as BuildStatusCode;
  const errorMsg = p.string();
  const r: BuildResult = { status, errorMsg, timesBuilt: 0, isNonDeterministic: false, startTime: 0, stopTime: 0, builtOutputs: new Map() };
  if (minor >= 29) {
    r.timesBuilt = p.u64();
    r.isNonDeterministic = p.bool();
    r.startTime = p.u64();
    r.stopTime = p.u64();
  }
  if (minor >= 37) {
    for (let i = 0; i < 2; i++) if (p.u64() !== 0) p.u64();
  }
  if (minor >= 28) {
    const n = p.u64();
    for (let i = 0; i < n; i++) {
      const id = p.string();
      const json = p.string();
      const name = id.slice(id.lastIndexOf('!') + 1);
      try {
        const o = JSON.parse(json) as { outPath?: string };
        if (typeof o.outPath === 'string') r.builtOutputs.set(name, new StorePath(o.outPath));
      } catch {
        throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `invalid realisation JSON for '${id}'`);
      }
    }
  }
  return r;
}

export function readKeyedBuildResult(p: WireParser, sd: StoreDir, minor: number): KeyedBuildResult {
  const path = parseDerivedPath(sd, p.string(), minor);
  return { ...readBuildResult(p, minor), path };
}

/** BasicDerivation as sent with BuildDerivation (no inputDrvs). */
export interface BasicDerivation {
  name: string;
  outputs: Map<string, { path?: StorePath; hashAlgo: string; hash: string }>;
  inputSrcs: StorePath[];
  platform: string;
  builder: string;
  args: string[];
  env: Map<string, string>;
}

export function readBasicDerivation(p: WireParser, sd: StoreDir, name: string): BasicDerivation {
  const outputs: BasicDerivation['outputs'] = new Map();
  const n = p.u64();
  for (let i = 0; i < n; i++) {
    const outName = p.string();
    const path = p.string();
    const hashAlgo = p.string();
    const hash = p.string();
    outputs.set(outName, { ...(path === '' ? {} : { path: sd.parse(path) }), hashAlgo, hash });
  }
  const inputSrcs = readStorePaths(p, sd);
  const platform = p.string();
  const builder = p.string();
  const args = p.strings(MAX_LIST);
  const env = new Map(p.stringMap(MAX_LIST));
  return { name, outputs, inputSrcs, platform, builder, args, env };
}

export function writeBasicDerivation(w: WireWriter, sd: StoreDir, d: BasicDerivation): void {
  const outs = [...d.outputs.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  w.u64(outs.length);
  for (const [name, o] of outs) w.string(name).string(o.path ? sd.print(o.path) : '').string(o.hashAlgo).string(o.hash);
  writeStorePaths(w, sd, d.inputSrcs);
  w.string(d.platform).string(d.builder).strings(d.args);
  w.stringMap([...d.env.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A remote error as received (message, exit status for old peers, traces). */
export interface RemoteErrorInfo {
  message: string;
  status: number;
  traces: string[];
}

/** STDERR_ERROR payload: ≥1.26 the structured record, else `str msg, u64 status`. */
export function writeErrorRecord(w: WireWriter, e: RemoteErrorInfo, minor: number): void {
  if (minor >= 26) {
    w.string('Error').u64(0).string('Error').string(e.message).u64(0);
    w.u64(e.traces.length);
    for (const t of e.traces) w.u64(0).string(t);
  } else {
    w.string(`error: ${e.message}`).u64(e.status);
  }
}

export function readErrorRecord(p: WireParser, minor: number): RemoteErrorInfo {
  if (minor >= 26) {
    const type = p.string();
    if (type !== 'Error') throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, `invalid error record type '${type}'`);
    p.u64(); // level
    p.string(); // legacy name
    const message = p.string();
    if (p.u64() !== 0) throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, 'error record with a position is not supported');
    const n = p.u64();
    const traces: string[] = [];
    for (let i = 0; i < n; i++) {
      if (p.u64() !== 0) throw new NixError(ProtocolErrorCode.E_PROTOCOL_STDERR, 'error trace with a position is not supported');
      traces.push(p.string());
    }
    return { message, status: 1, traces };
  }
  const msg = p.string();
  const status = p.u64();
  return { message: msg.replace(/^(\x1b\[[0-9;]*m)*error:(\x1b\[[0-9;]*m)* /, ''), status, traces: [] };
}

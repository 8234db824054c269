/**
 * Build, GC-root, GC and maintenance operations of the daemon (daemon.cc),
 * plus SetOptions. Trust rules follow 2.8 with its error texts; a refused
 * request is reported as one non-fatal STDERR_ERROR once fully parsed (2.8
 * sends some of them twice and drops the connection; see docs/deviations.md).
 */
import { lstat, symlink, unlink } from 'node:fs/promises';
import { NixError, Verbosity, concatBytes, type VerbosityLevel } from '../../core/index.js';
import { derivationType, parseDerivation, type StorePath } from '../../formats/index.js';
import type { BuildMode, DerivedPath, GCAction, MissingInfo, Store } from '../../store/store.js';
import { ProtocolErrorCode } from '../errors.js';
import type { Conn } from './connection.js';
import { Op } from './ops.js';
import {
  parseDerivedPath,
  printDerivedPath,
  readBasicDerivation,
  readStorePaths,
  writeBuildResult,
  writeStorePaths,
  MAX_LIST,
} from './serialise.js';
import { readPath, unsupported, type Handler } from './server-ops-query.js';
import { narRegularContents } from './nar-stream.js';

const BUILD_MODES: BuildMode[] = ['normal', 'repair', 'check'];
const GC_ACTIONS: GCAction[] = ['returnLive', 'returnDead', 'deleteDead', 'deleteSpecific'];

function untrusted(what: string): NixError {
  return new NixError(ProtocolErrorCode.E_PROTOCOL_UNTRUSTED, what);
}

async function readDerivedPaths(c: Conn): Promise<DerivedPath[]> {
  return c.reader.parse((p) => p.strings(MAX_LIST, 1 << 16).map((s) => parseDerivedPath(c.sd, s, c.minor)));
}

async function readBuildMode(c: Conn): Promise<BuildMode> {
  const m = await c.reader.u32();
  const mode = BUILD_MODES[m];
  if (mode === undefined) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `invalid build mode ${m}`);
  return mode;
}

function checkRepair(c: Conn, mode: BuildMode): void {
  if (mode === 'repair' && !c.trusted) throw untrusted("repairing is not allowed because you are not in 'trusted-users'");
}

/** QueryMissing for stores without a build layer: what is not valid yet. */
async function fallbackMissing(store: Store, paths: DerivedPath[]): Promise<MissingInfo> {
  const res: MissingInfo = { willBuild: [], willSubstitute: [], unknown: [], downloadSize: 0, narSize: 0 };
  for (const d of paths) {
    if (d.kind === 'opaque') {
      if (!(await store.isValidPath(d.path))) res.unknown.push(d.path);
      continue;
    }
    const outs = await store.queryDerivationOutputMap(d.drvPath).catch(() => new Map<string, StorePath | undefined>());
    const wanted = d.outputs === 'all' ? [...outs.keys()] : d.outputs;
    for (const o of wanted) {
      const p = outs.get(o);
      if (p === undefined || !(await store.isValidPath(p))) {
        res.willBuild.push(d.drvPath);
        break;
      }
    }
  }
  return res;
}

/**
 * Builds go by the stored `.drv`, so an untrusted client's claim that its
 * inline derivation is content-addressed must hold for the stored one too.
 */
async function storedDrvIsCA(c: Conn, drvPath: StorePath): Promise<boolean> {
  if (!(await c.store.isValidPath(drvPath))) return false;
  const parts: Uint8Array[] = [];
  for await (const ch of c.store.narFromPath(drvPath)) parts.push(ch);
  try {
    const drv = parseDerivation(narRegularContents(concatBytes(parts)), drvPath.name.replace(/\.drv$/, ''));
    const t = derivationType(drv);
    return t !== 'inputAddressed' && t !== 'deferred';
  } catch {
    return false;
  }
}

export const buildOps: Record<number, Handler> = {
  [Op.BuildPaths]: async (c) => {
    const paths = await readDerivedPaths(c);
    const mode = c.minor >= 15 ? await readBuildMode(c) : 'normal';
    c.startWork();
    checkRepair(c, mode);
    if (!c.store.buildPaths) throw unsupported(c.store, 'buildPaths');
    await c.store.buildPaths(paths, mode);
    c.reply.u64(1);
  },
  [Op.BuildPathsWithResults]: async (c) => {
    const paths = await readDerivedPaths(c);
    const mode = await readBuildMode(c);
    c.startWork();
    checkRepair(c, mode);
    if (!c.store.buildPathsWithResults) throw unsupported(c.store, 'buildPathsWithResults');
    const results = await c.store.buildPathsWithResults(paths, mode);
    c.reply.u64(results.length);
    for (const r of results) {
      c.reply.string(printDerivedPath(c.sd, r.path, c.minor));
      writeBuildResult(c.reply, c.sd, r, c.minor);
    }
  },
  [Op.BuildDerivation]: async (c) => {
    const drvPath = await readPath(c);
    const name = drvPath.name.replace(/\.drv$/, '');
    const drv = await c.reader.parse((p) => readBasicDerivation(p, c.sd, name));
    const mode = await readBuildMode(c);
    c.startWork();
    checkRepair(c, mode);
    const inputAddressed = [...drv.outputs.values()].some((o) => o.hashAlgo === '');
    if (!c.trusted && (inputAddressed || !(await storedDrvIsCA(c, drvPath)))) {
      throw untrusted('you are not privileged to build input-addressed derivations');
    }
    if (!c.store.buildDerivation) throw unsupported(c.store, 'buildDerivation');
    writeBuildResult(c.reply, c.sd, await c.store.buildDerivation(drvPath, drv, mode), c.minor);
  },
  [Op.EnsurePath]: async (c) => {
    const path = await readPath(c);
    c.startWork();
    if (c.store.ensurePath) await c.store.ensurePath(path);
    else if (!(await c.store.isValidPath(path))) {
      throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `path '${c.sd.print(path)}' does not exist and cannot be created`);
    }
    c.reply.u64(1);
  },
  [Op.QueryMissing]: async (c) => {
    const paths = await readDerivedPaths(c);
    c.startWork();
    const m = c.store.queryMissing ? await c.store.queryMissing(paths) : await fallbackMissing(c.store, paths);
    writeStorePaths(c.reply, c.sd, m.willBuild);
    writeStorePaths(c.reply, c.sd, m.willSubstitute);
    writeStorePaths(c.reply, c.sd, m.unknown);
    c.reply.u64(m.downloadSize).u64(m.narSize);
  },
  [Op.AddTempRoot]: async (c) => {
    const path = await readPath(c);
    c.startWork();
    await c.store.addTempRoot(path);
    c.tempRoots.add(path.baseName);
    c.reply.u64(1);
  },
  [Op.AddIndirectRoot]: async (c) => {
    const link = await c.reader.string(4096);
    c.startWork();
    if (!link.startsWith('/')) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `path '${link}' is not absolute`);
    await c.store.addIndirectRoot(link);
    c.reply.u64(1);
  },
  [Op.AddPermRoot]: async (c) => {
    const path = await readPath(c);
    const gcRoot = await c.reader.string(4096);
    c.startWork();
    if (!c.trusted) throw untrusted('you are not privileged to create perm roots');
    if (!gcRoot.startsWith('/')) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `path '${gcRoot}' is not absolute`);
    // Replace an old root link, never a file or directory that is not one.
    const st = await lstat(gcRoot).catch(() => undefined);
    if (st && !st.isSymbolicLink()) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `cannot create GC root '${gcRoot}': it exists and is not a symlink`);
    if (st) await unlink(gcRoot);
    await symlink(c.sd.print(path), gcRoot);
    await c.store.addIndirectRoot(gcRoot);
    c.reply.string(gcRoot);
  },
  [Op.SyncWithGC]: async (c) => {
    c.startWork();
    c.reply.u64(1);
  },
  [Op.FindRoots]: async (c) => {
    c.startWork();
    const roots = await c.store.findRoots(!c.trusted);
    const flat: [string, string][] = [];
    for (const [target, links] of roots) for (const l of links) flat.push([l, c.sd.print(target)]);
    flat.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    c.reply.u64(flat.length);
    for (const [l, t] of flat) c.reply.string(l).string(t);
  },
  [Op.CollectGarbage]: async (c) => {
    const [actionNo, toDelete, ignoreLiveness, maxFreed] = await c.reader.parse(
      (p) => [p.u32(), readStorePaths(p, c.sd), p.bool(), p.u64Big(), p.u64(), p.u64(), p.u64()] as const,
    );
    c.startWork();
    const action = GC_ACTIONS[actionNo];
    if (action === undefined) throw new NixError(ProtocolErrorCode.E_PROTOCOL_REMOTE, `invalid GC action ${actionNo}`);
    if (ignoreLiveness) throw untrusted('you are not allowed to ignore liveness');
    const max = maxFreed >= BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(maxFreed);
    const r = await c.store.collectGarbage({ action, pathsToDelete: toDelete, ...(max === undefined ? {} : { maxFreed: max }) });
    c.reply.strings(r.paths).u64(r.bytesFreed).u64(0);
  },
  [Op.OptimiseStore]: async (c) => {
    c.startWork();
    if (!c.store.optimiseStore) throw unsupported(c.store, 'optimiseStore');
    await c.store.optimiseStore();
    c.reply.u64(1);
  },
  [Op.VerifyStore]: async (c) => {
    const [checkContents, repair] = await c.reader.parse((p) => [p.bool(), p.bool()] as const);
    c.startWork();
    if (repair && !c.trusted) throw untrusted('you are not privileged to repair paths');
    c.reply.bool(await c.store.verifyStore(checkContents, repair));
  },
  [Op.RegisterDrvOutput]: async (c) => {
    if (c.minor < 31) await c.reader.parse((p) => [p.string(), p.string()]);
    else await c.reader.string();
    c.startWork();
    throw new NixError(ProtocolErrorCode.E_PROTOCOL_UNSUPPORTED, "experimental Nix feature 'ca-derivations' is disabled; use '--extra-experimental-features ca-derivations' to override");
  },
  [Op.SetOptions]: async (c) => setOptions(c),
};

/** Options untrusted clients may set (2.8 daemon.cc). */
const UNTRUSTED_OK = new Set(['timeout', 'repeat', 'connect-timeout']);

async function setOptions(c: Conn): Promise<void> {
  const fixed = await c.reader.parse((p) => Array.from({ length: 12 }, () => p.u64Big()));
  const overrides = c.minor >= 12 ? await c.reader.parse((p) => p.stringMap(MAX_LIST)) : [];
  c.startWork();
  if (c.opts.recursive) return; // builders cannot change the daemon's options
  const verbosity = Number(fixed[3]! > 7n ? 7n : fixed[3]!);
  c.logger.verbosity = verbosity as VerbosityLevel;
  c.state.verbosity = verbosity;
  c.overrides.clear();
  c.overrides.set('keep-failed', fixed[0] !== 0n ? 'true' : 'false');
  c.overrides.set('keep-going', fixed[1] !== 0n ? 'true' : 'false');
  c.overrides.set('fallback', fixed[2] !== 0n ? 'true' : 'false');
  c.overrides.set('max-jobs', String(fixed[4]));
  c.overrides.set('max-silent-time', String(fixed[5]));
  c.overrides.set('cores', String(fixed[10]));
  c.overrides.set('substitute', fixed[11] !== 0n ? 'true' : 'false');
  for (const [name, value] of overrides) {
    if (name === 'experimental-features' || name === 'ssh-auth-sock') continue;
    if (c.trusted || UNTRUSTED_OK.has(name) || (name === 'builders' && value === '')) c.overrides.set(name, value);
    else c.opts.logger?.log(Verbosity.Debug, `ignoring the client-specified setting '${name}', because it is a restricted setting and you are not a trusted user`);
  }
}

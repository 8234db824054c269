/**
 * After a successful builder exit: turn what the builder wrote into valid
 * store paths (Nix 2.8 `LocalDerivationGoal::registerOutputs`, `checkOutputs`).
 *
 * Per output: it must exist; it must not be group/world-writable; canonicalise;
 * one NAR pass computes narHash, narSize and the references (candidates: the
 * input closure, paths added by recursive Nix, and every output of this drv —
 * self and sibling references). Then outputs are ordered topologically (a cycle
 * between outputs is an error), `allowed*`/`disallowed*` checks run, and all
 * outputs are registered in ONE transaction with deriver, narHash, narSize,
 * ultimate. Nothing is registered when any step throws.
 *
 * Fixed-output drvs: the output is hashed with the drv's method and algo. On a
 * mismatch Nix 2.8 still registers the content at the path of the hash it GOT
 * (a valid content-addressed path, deriver set) and then fails with exit 102;
 * we do the same so the stores stay comparable.
 *
 * `--check`: the builder wrote to a scratch path; its NAR, with the scratch
 * hash part rewritten to the final one, must hash like the valid output.
 */
import { existsSync, lstatSync, renameSync } from 'node:fs';
import { NixError, compareUtf8 } from '../core/index.js';
import { HashSink, RefScanner, Rewriter, parseHashType, Hash, StoreDir, StorePath, type HashType } from '../formats/index.js';
import { dumpPathSync, hashFile, restorePath, type Store, type ValidPathInfo } from '../store/index.js';
import { canonicaliseOutput, checkOutputPermissions } from './canonicalise.js';
import { getBoolAttr, getStringsAttr, structuredAttrs, type BuildDrv } from './derivation.js';
import { BuildErrorCode } from './errors.js';
import { deleteStorePathFs } from './fs-util.js';

/** What the builder needs from a store beyond `Store`: registering in-place outputs. */
export interface LocalBuildStore extends Store {
  readonly stateDir: string;
  registerValidPaths(infos: readonly ValidPathInfo[]): void | Promise<void>;
}

export function isLocalBuildStore(s: Store): s is LocalBuildStore {
  return typeof (s as Partial<LocalBuildStore>).registerValidPaths === 'function' && typeof (s as Partial<LocalBuildStore>).stateDir === 'string';
}

export interface OutputSpec {
  name: string;
  /** The path the output is registered as. */
  finalPath: StorePath;
  /** Host path the builder wrote. */
  actualPath: string;
  /** Scratch path the builder saw (check mode); its hash part is rewritten to finalPath's. */
  scratchPath?: StorePath;
}

export interface RegisterRequest {
  store: LocalBuildStore;
  drv: BuildDrv;
  outputs: OutputSpec[];
  /** Full paths the outputs may refer to (input closure ∪ recursive additions). */
  referenceable: Iterable<string>;
  check: boolean;
  keepFailed: boolean;
  /** `--repair`: outputs built at scratch paths replace the (corrupt) valid ones. */
  repair?: boolean;
}

export interface RegisterResult {
  /** outputName → registered (or, under --check, verified) path. */
  outputs: Map<string, StorePath>;
  /** Set when the build "succeeded" but must be reported as a failure after registration. */
  delayedError?: NixError;
  hashMismatch?: boolean;
}

interface Scanned {
  spec: OutputSpec;
  narHash: Hash;
  narSize: number;
  refs: Set<string>;
  /** Hash of the output by the FOD's own method/algo. */
  caHash?: Hash;
}

function err(code: string, msg: string): NixError {
  return new NixError(code, msg);
}

function scanOutput(req: RegisterRequest, spec: OutputSpec, candidates: Map<string, string>, fod: FodInfo | undefined): Scanned {
  const sd = req.store.storeDir;
  if (!existsSync(spec.actualPath) && !isSymlink(spec.actualPath)) {
    throw err(
      BuildErrorCode.E_OUTPUT_MISSING,
      `builder for '${sd.print(req.drv.drvPath)}' failed to produce output path for output '${spec.name}' at '${spec.actualPath}'`,
    );
  }
  checkOutputPermissions(spec.actualPath, spec.name);
  canonicaliseOutput(spec.actualPath);
  const sink = new HashSink('sha256');
  const extra = fod?.recursive && fod.algo !== 'sha256' ? new HashSink(fod.algo) : undefined;
  const scanner = new RefScanner(candidates.keys());
  const rewriter = spec.scratchPath ? new Rewriter(spec.scratchPath.hashPart, spec.finalPath.hashPart) : undefined;
  const feed = (c: Uint8Array): void => {
    sink.update(c);
    extra?.update(c);
    scanner.update(c);
  };
  for (const chunk of dumpPathSync(spec.actualPath)) feed(rewriter ? rewriter.update(chunk) : chunk);
  if (rewriter) feed(rewriter.flush());
  const narHash = sink.finish();
  let caHash: Hash | undefined;
  if (fod) {
    if (!fod.recursive) {
      const st = lstatSync(spec.actualPath);
      if (!st.isFile() || (st.mode & 0o100) !== 0) {
        throw err(
          BuildErrorCode.E_OUTPUT_REJECTED,
          `output path '${spec.actualPath}' should be a non-executable regular file since recursive hashing is not enabled (outputHashMode=flat)`,
        );
      }
      caHash = hashFile(spec.actualPath, fod.algo);
    } else caHash = extra ? extra.finish() : narHash;
  }
  return { spec, narHash, narSize: sink.bytes, refs: new Set([...scanner.found].map((h) => candidates.get(h)!)), caHash };
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

interface FodInfo {
  recursive: boolean;
  algo: HashType;
  wanted: Hash;
}

function fodInfo(drv: BuildDrv): FodInfo | undefined {
  const out = drv.outputs.get('out');
  if (drv.outputs.size !== 1 || !out || out.hash === '' || out.path === undefined) return undefined;
  const recursive = out.hashAlgo.startsWith('r:');
  const algo = parseHashType(recursive ? out.hashAlgo.slice(2) : out.hashAlgo);
  return { recursive, algo, wanted: new Hash(algo, new Uint8Array(Buffer.from(out.hash, 'hex'))) };
}

/** Order outputs so that referenced siblings come first; a cycle is an error (2.8 `topoSort`). */
function topoSortOutputs(req: RegisterRequest, scanned: Scanned[]): Scanned[] {
  const byPath = new Map(scanned.map((s) => [req.store.storeDir.print(s.spec.finalPath), s]));
  const done = new Set<Scanned>();
  const visiting = new Set<Scanned>();
  const order: Scanned[] = [];
  const visit = (s: Scanned, parent?: Scanned): void => {
    if (done.has(s)) return;
    if (visiting.has(s)) {
      throw err(
        BuildErrorCode.E_CYCLE,
        `cycle detected in build of '${req.store.storeDir.print(req.drv.drvPath)}' in the references of output '${s.spec.name}' from output '${parent!.spec.name}'`,
      );
    }
    visiting.add(s);
    for (const r of [...s.refs].sort(compareUtf8)) {
      const dep = byPath.get(r);
      if (dep !== undefined && dep !== s) visit(dep, s);
    }
    visiting.delete(s);
    done.add(s);
    order.push(s);
  };
  for (const s of [...scanned].sort((a, b) => compareUtf8(a.spec.name, b.spec.name))) visit(s);
  return order;
}

export async function registerOutputs(req: RegisterRequest): Promise<RegisterResult> {
  const sd = req.store.storeDir;
  const candidates = new Map<string, string>();
  // Valid paths printed by this store: the hash part is the start of the base name (no parse per
  // path, which made a chain of n builds cost O(n²) parses).
  for (const p of req.referenceable) {
    const base = p.lastIndexOf('/') + 1;
    candidates.set(p.slice(base, base + 32), p);
  }
  for (const o of req.outputs) candidates.set(o.finalPath.hashPart, sd.print(o.finalPath));
  const fod = fodInfo(req.drv);
  const scanned = req.outputs.map((o) => scanOutput(req, o, candidates, fod));
  const ordered = topoSortOutputs(req, scanned);
  const infos = new Map<string, ValidPathInfo>();
  for (const s of ordered) infos.set(s.spec.name, toInfo(sd, req.drv, s));
  await checkOutputs(req, infos);
  if (req.check) return verifyCheck(req, ordered, infos);
  const result: RegisterResult = { outputs: new Map() };
  if (fod) {
    const s = ordered[0]!;
    if (!s.caHash!.equals(fod.wanted)) relocateMismatchedFod(req, s, fod, infos, result);
  }
  for (const s of ordered) if (s.spec.scratchPath) await replaceValidPath(req, s.spec);
  await req.store.registerValidPaths([...infos.values()]);
  for (const [name, info] of infos) result.outputs.set(name, info.path);
  return result;
}

/**
 * Nix `replaceValidPath` (repair): put the output built at the scratch path
 * into its final place, with the scratch hash part rewritten in its contents
 * (self-references), replacing what is there.
 */
async function replaceValidPath(req: RegisterRequest, spec: OutputSpec): Promise<void> {
  const sd = req.store.storeDir;
  const final = sd.print(spec.finalPath);
  const tmp = `${final}.tmp-repair-${process.pid}`;
  if (existsSync(tmp) || isSymlink(tmp)) deleteStorePathFs(tmp);
  const rewriter = new Rewriter(spec.scratchPath!.hashPart, spec.finalPath.hashPart);
  await restorePath(tmp, (async function* () {
    for (const chunk of dumpPathSync(spec.actualPath)) yield rewriter.update(chunk);
    yield rewriter.flush();
  })());
  canonicaliseOutput(tmp);
  if (existsSync(final) || isSymlink(final)) deleteStorePathFs(final);
  renameSync(tmp, final);
}

function toInfo(sd: StoreDir, drv: BuildDrv, s: Scanned): ValidPathInfo {
  const info: ValidPathInfo = {
    path: s.spec.finalPath,
    deriver: drv.drvPath,
    narHash: s.narHash,
    references: [...s.refs].map((p) => sd.parse(p)).sort((a, b) => compareUtf8(a.baseName, b.baseName)),
    registrationTime: 0,
    narSize: s.narSize,
    ultimate: true,
    sigs: [],
  };
  const out = drv.outputs.get(s.spec.name);
  if (out && out.hash !== '' && s.caHash) info.ca = `fixed:${out.hashAlgo.startsWith('r:') ? 'r:' : ''}${s.caHash.type}:${s.caHash.base32}`;
  return info;
}

function relocateMismatchedFod(req: RegisterRequest, s: Scanned, fod: FodInfo, infos: Map<string, ValidPathInfo>, result: RegisterResult): void {
  const sd = req.store.storeDir;
  const got = s.caHash!;
  const gotPath = sd.makeFixedOutputPath({ recursive: fod.recursive, hash: got, name: s.spec.finalPath.name });
  result.hashMismatch = true;
  result.delayedError = new NixError(
    BuildErrorCode.E_HASH_MISMATCH,
    `hash mismatch in fixed-output derivation '${sd.print(req.drv.drvPath)}':\n  specified: ${fod.wanted.sri}\n     got:    ${got.sri}`,
    { exitCode: 102 },
  );
  const dest = sd.print(gotPath);
  if (existsSync(dest) || isSymlink(dest)) deleteStorePathFs(dest);
  renameSync(s.spec.actualPath, dest);
  const info = infos.get(s.spec.name)!;
  infos.set(s.spec.name, { ...info, path: gotPath });
}

async function verifyCheck(req: RegisterRequest, ordered: Scanned[], infos: Map<string, ValidPathInfo>): Promise<RegisterResult> {
  const sd = req.store.storeDir;
  const result: RegisterResult = { outputs: new Map() };
  for (const s of ordered) {
    const old = await req.store.queryPathInfo(s.spec.finalPath);
    result.outputs.set(s.spec.name, s.spec.finalPath);
    if (old === undefined) continue;
    if (!old.narHash.equals(infos.get(s.spec.name)!.narHash)) {
      const final = sd.print(s.spec.finalPath);
      if (req.keepFailed) {
        const dst = final + '.check';
        if (existsSync(dst)) deleteStorePathFs(dst);
        renameSync(s.spec.actualPath, dst);
        throw new NixError(BuildErrorCode.E_NOT_DETERMINISTIC, `derivation '${sd.print(req.drv.drvPath)}' may not be deterministic: output '${final}' differs from '${dst}'`, { exitCode: 104 });
      }
      throw new NixError(BuildErrorCode.E_NOT_DETERMINISTIC, `derivation '${sd.print(req.drv.drvPath)}' may not be deterministic: output '${final}' differs`, { exitCode: 104 });
    }
  }
  return result;
}

interface Checks {
  allowedReferences?: string[];
  allowedRequisites?: string[];
  disallowedReferences?: string[];
  disallowedRequisites?: string[];
  maxSize?: number;
  maxClosureSize?: number;
  ignoreSelfRefs: boolean;
}

function checksFor(drv: BuildDrv, outputName: string): Checks | undefined {
  const sa = structuredAttrs(drv);
  if (sa === undefined) {
    return {
      allowedReferences: getStringsAttr(drv, 'allowedReferences'),
      allowedRequisites: getStringsAttr(drv, 'allowedRequisites'),
      disallowedReferences: getStringsAttr(drv, 'disallowedReferences'),
      disallowedRequisites: getStringsAttr(drv, 'disallowedRequisites'),
      ignoreSelfRefs: true,
    };
  }
  const oc = sa.outputChecks as Record<string, Record<string, unknown>> | undefined;
  const c = oc?.[outputName];
  if (c === undefined || c === null || typeof c !== 'object') return undefined;
  const list = (k: string): string[] | undefined => (Array.isArray(c[k]) ? (c[k] as string[]) : undefined);
  const num = (k: string): number | undefined => (typeof c[k] === 'number' ? (c[k] as number) : undefined);
  return {
    allowedReferences: list('allowedReferences'),
    allowedRequisites: list('allowedRequisites'),
    disallowedReferences: list('disallowedReferences'),
    disallowedRequisites: list('disallowedRequisites'),
    maxSize: num('maxSize'),
    maxClosureSize: num('maxClosureSize'),
    ignoreSelfRefs: c.ignoreSelfRefs === true,
  };
}

async function checkOutputs(req: RegisterRequest, infos: Map<string, ValidPathInfo>): Promise<void> {
  const sd = req.store.storeDir;
  const byPath = new Map([...infos.values()].map((i) => [i.path.baseName, i]));
  const closureOf = async (p: StorePath): Promise<{ paths: Set<string>; size: number }> => {
    const seen = new Set<string>();
    let size = 0;
    const todo = [p];
    while (todo.length > 0) {
      const cur = todo.pop()!;
      if (seen.has(cur.baseName)) continue;
      seen.add(cur.baseName);
      const info = byPath.get(cur.baseName) ?? (await req.store.queryPathInfo(cur));
      if (info === undefined) continue;
      size += info.narSize;
      todo.push(...info.references);
    }
    return { paths: seen, size };
  };
  for (const [name, info] of infos) {
    const checks = checksFor(req.drv, name);
    if (checks === undefined) continue;
    const printed = sd.print(info.path);
    if (checks.maxSize !== undefined && info.narSize > checks.maxSize) {
      throw err(BuildErrorCode.E_OUTPUT_REJECTED, `path '${printed}' is too large at ${info.narSize} bytes; limit is ${checks.maxSize} bytes`);
    }
    if (checks.maxClosureSize !== undefined) {
      const { size } = await closureOf(info.path);
      if (size > checks.maxClosureSize) {
        throw err(BuildErrorCode.E_OUTPUT_REJECTED, `closure of path '${printed}' is too large at ${size} bytes; limit is ${checks.maxClosureSize} bytes`);
      }
    }
    const checkRefs = async (value: string[] | undefined, allowed: boolean, recursive: boolean): Promise<void> => {
      if (value === undefined) return;
      const spec = new Set<string>();
      for (const i of value) {
        if (sd.isStorePath(i)) spec.add(sd.parse(i).baseName);
        else if (infos.has(i)) spec.add(infos.get(i)!.path.baseName);
        else if (req.drv.outputs.has(i)) spec.add(sd.parse(req.drv.outputs.get(i)!.path!).baseName);
        else throw err(BuildErrorCode.E_BAD_DERIVATION, `derivation contains an illegal reference specifier '${i}'`);
      }
      const used = recursive ? (await closureOf(info.path)).paths : new Set(info.references.map((r) => r.baseName));
      if (recursive && checks.ignoreSelfRefs) used.delete(info.path.baseName);
      const bad = [...used].filter((u) => spec.has(u) !== allowed).sort(compareUtf8);
      if (bad.length > 0) {
        throw err(
          BuildErrorCode.E_OUTPUT_REJECTED,
          `output '${printed}' is not allowed to refer to the following paths:${bad.map((b) => `\n  ${sd.dir}/${b}`).join('')}`,
        );
      }
    };
    await checkRefs(checks.allowedReferences, true, false);
    await checkRefs(checks.allowedRequisites, true, true);
    await checkRefs(checks.disallowedReferences, false, false);
    await checkRefs(checks.disallowedRequisites, false, true);
  }
}

void getBoolAttr;

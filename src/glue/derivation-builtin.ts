/**
 * `builtins.derivationStrict` (Nix 2.8 primops.cc `prim_derivationStrict`):
 * turns the attribute set into a `Derivation`, computes its output paths
 * (formats/derivation), writes the `.drv` as a text object (or only computes
 * its path in read-only mode) and returns `{ drvPath; <output> = path; … }`
 * with `=drv` / `!out!drv` contexts.
 *
 * Attribute handling (lexicographic order): `args` → argv; with
 * `__structuredAttrs` everything else goes into one `__json` env var;
 * otherwise every attribute is coerced with `toString` rules (paths copied
 * to the store) into env. `builder`, `system`, `outputHash*`, `outputs` are
 * also interpreted. Context decides inputDrvs / inputSrcs.
 */
import {
  NixString, coerceToString, forceAttrs, forceBool, force, forceList, valueToJSON,
  EvalError, EvalErrorCode, NixAttrs, type BuiltinRegistry, type EvalState, type Lazy, type Pos, type Value,
} from '../eval/index.js';
import {
  computeDrvPath, derivationReferences, fillInOutputPaths, printDerivation, parseHash, parseHashType, printMethodAlgo,
  Hash, isHashType, type Derivation, type DrvHashMemo, type HashType,
} from '../formats/index.js';
import type { GlueIO } from './store-io.js';

function err(msg: string, pos?: Pos): EvalError {
  return new EvalError(EvalErrorCode.E_EVAL, msg, pos);
}

function forceStringNoCtxIn(state: EvalState, v: Lazy, pos?: Pos): string {
  return state.forceStringNoCtx(force(v), pos);
}

interface DrvBuild {
  drv: Derivation;
  ctx: Set<string>;
  outputs: string[];
  outputHash?: string;
  outputHashAlgo?: string;
  ingestion?: 'flat' | 'recursive';
  contentAddressed: boolean;
  impure: boolean;
}

function handleOutputs(b: DrvBuild, names: string[], pos?: Pos): void {
  const out: string[] = [];
  for (const n of names) {
    if (out.includes(n)) throw err(`duplicate derivation output '${n}'`, pos);
    if (n === 'drv') throw err(`invalid derivation output name 'drv'`, pos);
    out.push(n);
  }
  if (out.length === 0) throw err('derivation cannot have an empty set of outputs', pos);
  b.outputs = out;
}

function handleHashMode(b: DrvBuild, s: string, pos?: Pos): void {
  if (s === 'recursive') b.ingestion = 'recursive';
  else if (s === 'flat') b.ingestion = 'flat';
  else throw err(`invalid value '${s}' for 'outputHashMode' attribute`, pos);
}

function addAttr(state: EvalState, b: DrvBuild, key: string, v: Lazy, json: Map<string, string> | null, pos?: Pos): void {
  if (key === 'args') {
    for (const x of forceList(v, pos)) {
      b.drv.args.push(coerceToString(state, x, b.ctx, { coerceMore: true, copyToStore: true }, pos));
    }
    return;
  }
  if (json !== null) {
    if (key === '__structuredAttrs') return;
    json.set(key, valueToJSON(state, v, b.ctx, pos));
    const x = force(v);
    if (key === 'builder') b.drv.builder = coerceToString(state, x, b.ctx, { coerceMore: false, copyToStore: false }, pos);
    else if (key === 'system') b.drv.platform = state.forceStringNoCtx(x, pos);
    else if (key === 'outputHash') b.outputHash = state.forceStringNoCtx(x, pos);
    else if (key === 'outputHashAlgo') b.outputHashAlgo = state.forceStringNoCtx(x, pos);
    else if (key === 'outputHashMode') handleHashMode(b, state.forceStringNoCtx(x, pos), pos);
    else if (key === 'outputs') handleOutputs(b, forceList(x, pos).map((e) => forceStringNoCtxIn(state, e, pos)), pos);
    return;
  }
  const s = coerceToString(state, v, b.ctx, { coerceMore: true, copyToStore: true }, pos);
  b.drv.env.set(key, s);
  if (key === 'builder') b.drv.builder = s;
  else if (key === 'system') b.drv.platform = s;
  else if (key === 'outputHash') b.outputHash = s;
  else if (key === 'outputHashAlgo') b.outputHashAlgo = s;
  else if (key === 'outputHashMode') handleHashMode(b, s, pos);
  else if (key === 'outputs') handleOutputs(b, s.split(/[ \t\n\r]+/).filter((x) => x !== ''), pos);
}

/** Split the string context into inputDrvs / inputSrcs (2.8 semantics). */
function addInputs(io: GlueIO, b: DrvBuild): void {
  const { drv } = b;
  for (const c of b.ctx) {
    if (c.startsWith('=')) {
      const drvPath = c.slice(1);
      for (const p of io.closure(drvPath)) {
        drv.inputSrcs.add(p);
        if (p.endsWith('.drv')) drv.inputDrvs.set(p, new Set(io.readDerivation(p).outputs.keys()));
      }
    } else if (c.startsWith('!')) {
      const bang = c.indexOf('!', 1);
      const out = c.slice(1, bang);
      const drvPath = c.slice(bang + 1);
      let set = drv.inputDrvs.get(drvPath);
      if (!set) drv.inputDrvs.set(drvPath, (set = new Set()));
      set.add(out);
    } else {
      drv.inputSrcs.add(c);
    }
  }
}

function parseOutputHash(b: DrvBuild, pos?: Pos): Hash {
  const algo = b.outputHashAlgo ? b.outputHashAlgo : undefined;
  let type: HashType | undefined;
  if (algo !== undefined) {
    if (!isHashType(algo)) throw err(`unknown hash algorithm '${algo}'`, pos);
    type = parseHashType(algo);
  }
  const s = b.outputHash!;
  if (s === '') {
    if (type === undefined) throw err('empty hash requires explicit hash type', pos);
    return new Hash(type, new Uint8Array({ md5: 16, sha1: 20, sha256: 32, sha512: 64 }[type]));
  }
  try {
    return parseHash(s, type);
  } catch (e) {
    throw err((e as Error).message, pos);
  }
}

function requireFeature(features: ReadonlySet<string>, f: string, pos?: Pos): void {
  if (!features.has(f)) {
    throw err(`experimental Nix feature '${f}' is disabled; use '--extra-experimental-features ${f}' to override`, pos);
  }
}

export function derivationStrict(state: EvalState, io: GlueIO, arg: Lazy, pos?: Pos, features: ReadonlySet<string> = new Set()): Value {
  const attrs = forceAttrs(arg, pos);
  const nameV = attrs.get('name');
  if (nameV === undefined) throw err(`required attribute 'name' missing`, pos);
  const drvName = forceStringNoCtxIn(state, nameV, attrs.posOf('name') ?? pos);
  const structured = attrs.has('__structuredAttrs') && forceBool(attrs.get('__structuredAttrs')!, pos);
  const ignoreNulls = attrs.has('__ignoreNulls') && forceBool(attrs.get('__ignoreNulls')!, pos);
  const b: DrvBuild = {
    drv: { name: drvName, outputs: new Map(), inputDrvs: new Map(), inputSrcs: new Set(), platform: '', builder: '', args: [], env: new Map() },
    ctx: new Set(), outputs: ['out'], contentAddressed: false, impure: false,
  };
  const json = structured ? new Map<string, string>() : null;
  for (const key of attrs.keys()) {
    if (key === '__ignoreNulls') continue;
    const v = attrs.get(key)!;
    const apos = attrs.posOf(key) ?? pos;
    try {
      if (ignoreNulls && force(v) === null) continue;
      if (key === '__contentAddressed') {
        b.contentAddressed = forceBool(v, apos);
        if (b.contentAddressed) requireFeature(features, 'ca-derivations', apos);
      } else if (key === '__impure') {
        b.impure = forceBool(v, apos);
        if (b.impure) requireFeature(features, 'impure-derivations', apos);
      }
      addAttr(state, b, key, v, json, apos);
    } catch (e) {
      if (e instanceof EvalError) e.addFrame(`while evaluating the attribute '${key}' of the derivation '${drvName}'`, apos);
      throw e;
    }
  }
  if (json !== null) {
    const keys = [...json.keys()].sort();
    b.drv.env.set('__json', `{${keys.map((k) => `${valueToJSON(state, k, b.ctx)}:${json.get(k)}`).join(',')}}`);
  }
  addInputs(io, b);
  if (b.drv.builder === '') throw err(`required attribute 'builder' missing`, pos);
  if (b.drv.platform === '') throw err(`required attribute 'system' missing`, pos);
  if (drvName.endsWith('.drv')) throw err(`derivation names are not allowed to end in '.drv'`, pos);
  return finish(state, io, b, pos);
}


function finish(state: EvalState, io: GlueIO, b: DrvBuild, pos?: Pos): Value {
  const { drv } = b;
  if (b.outputHash !== undefined) {
    if (b.outputs.length !== 1 || b.outputs[0] !== 'out') throw err('multiple outputs are not supported in fixed-output derivations', pos);
    const h = parseOutputHash(b, pos);
    drv.outputs.set('out', { path: '', hashAlgo: printMethodAlgo(b.ingestion ?? 'flat', h.type), hash: h.base16 });
  } else if (b.contentAddressed || b.impure) {
    const algo = b.outputHashAlgo ? parseHashType(b.outputHashAlgo) : 'sha256';
    const method = b.ingestion ?? 'recursive';
    for (const o of b.outputs) drv.outputs.set(o, { path: '', hashAlgo: printMethodAlgo(method, algo), hash: b.impure ? 'impure' : '' });
  } else {
    for (const o of b.outputs) drv.outputs.set(o, { path: '', hashAlgo: '', hash: '' });
  }
  let filled: Derivation;
  try {
    filled = fillInOutputPaths(drv, { storeDir: io.store, resolve: (p) => io.readDerivation(p), memo: drvMemo(io) });
  } catch (e) {
    if (e instanceof EvalError) throw e;
    throw err((e as Error).message, pos);
  }
  const refs = derivationReferences(filled, io.store).map((p) => io.store.print(p));
  let drvPath: string;
  try {
    drvPath = io.store.print(computeDrvPath(filled, io.store));
  } catch (e) {
    throw err((e as Error).message, pos);
  }
  if (io.writer) {
    const text = Buffer.from(printDerivation(filled), 'latin1');
    io.addTextToStore(`${drv.name}.drv`, new Uint8Array(text), refs);
  }
  io.addDerivation(drvPath, filled, refs);
  const result = new Map<string, Value>();
  result.set('drvPath', new NixString(drvPath, new Set(['=' + drvPath])));
  for (const [name, o] of filled.outputs) {
    const p = o.path !== '' ? o.path : filled.env.get(name) ?? '';
    result.set(name, new NixString(p, new Set([`!${name}!${drvPath}`])));
  }
  return NixAttrs.fromMap(result);
}

const memos = new WeakMap<GlueIO, DrvHashMemo>();
function drvMemo(io: GlueIO): DrvHashMemo {
  let m = memos.get(io);
  if (!m) {
    m = new Map();
    memos.set(io, m);
  }
  return m;
}


/** Register the store-backed `derivationStrict`. */
export function registerDerivation(r: BuiltinRegistry, io: GlueIO, features: ReadonlySet<string> = new Set()): void {
  r.add('derivationStrict', 1, (args, pos, state) => derivationStrict(state, io, args[0]!, pos, features));
}

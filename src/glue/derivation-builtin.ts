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
  NixString, coerceToString, missingAttr, forceAttrs, forceBool, force, forceList, valueToJSON,
  EvalError, EvalErrorCode, NixAttrs, type BuiltinRegistry, type EvalState, type Lazy, type Pos, type Value,
} from '../eval/index.js';
import {
  computeDrvPath, derivationReferences, fillInOutputPaths, printDerivation, parseHash, parseHashType, printMethodAlgo,
  Hash, isHashType, type Derivation, type DrvHashMemo, type HashType,
} from '../formats/index.js';
import type { GlueIO } from './store-io.js';

function err(msg: string, pos: Pos | null | undefined): EvalError {
  return new EvalError(EvalErrorCode.E_EVAL, msg, pos);
}

function forceStringNoCtxIn(state: EvalState, v: Lazy, pos?: Pos): string {
  return state.forceStringNoCtx(force(v), pos);
}

interface DrvBuild {
  /** Where derivationStrict was called (2.8 `pos`). */
  pos: Pos | undefined;
  /** The `name` attribute's position: 2.8 places most of its own errors
   *  there (`posDrvName`), null when the set has none. */
  posDrvName: Pos | null;
  drv: Derivation;
  ctx: Set<string>;
  outputs: string[];
  outputHash?: string;
  outputHashAlgo?: string;
  ingestion?: 'flat' | 'recursive';
  contentAddressed: boolean;
  impure: boolean;
}

function handleOutputs(b: DrvBuild, names: string[]): void {
  const pos = b.posDrvName;
  const out: string[] = [];
  for (const n of names) {
    if (out.includes(n)) throw err(`duplicate derivation output '${n}'`, pos);
    if (n === 'drv') throw err(`invalid derivation output name 'drv'`, pos);
    out.push(n);
  }
  if (out.length === 0) throw err('derivation cannot have an empty set of outputs', pos);
  b.outputs = out;
}

function handleHashMode(b: DrvBuild, s: string): void {
  if (s === 'recursive') b.ingestion = 'recursive';
  else if (s === 'flat') b.ingestion = 'flat';
  else throw err(`invalid value '${s}' for 'outputHashMode' attribute`, b.posDrvName);
}

/** One attribute, with the positions 2.8 uses for each kind of check:
 *  the call (`pos`), the name attribute (`posDrvName`), the attribute. */
function addAttr(state: EvalState, b: DrvBuild, key: string, v: Lazy, json: Map<string, string> | null, attrPos: Pos | undefined): void {
  const { pos } = b;
  const at = b.posDrvName ?? undefined;
  if (key === 'args') {
    for (const x of forceList(v, pos)) {
      b.drv.args.push(coerceToString(state, x, b.ctx, { coerceMore: true, copyToStore: true }, at));
    }
    return;
  }
  if (json !== null) {
    if (key === '__structuredAttrs') return;
    json.set(key, valueToJSON(state, v, b.ctx, pos));
    const x = force(v);
    if (key === 'builder') b.drv.builder = coerceToString(state, x, b.ctx, { coerceMore: false, copyToStore: false }, at);
    else if (key === 'system') b.drv.platform = state.forceStringNoCtx(x, at);
    else if (key === 'outputHash') b.outputHash = state.forceStringNoCtx(x, at);
    else if (key === 'outputHashAlgo') b.outputHashAlgo = state.forceStringNoCtx(x, at);
    else if (key === 'outputHashMode') handleHashMode(b, state.forceStringNoCtx(x, at));
    else if (key === 'outputs') handleOutputs(b, forceList(x, at).map((e) => forceStringNoCtxIn(state, e, at)));
    return;
  }
  const s = coerceToString(state, v, b.ctx, { coerceMore: true, copyToStore: true }, attrPos ?? pos);
  b.drv.env.set(key, s);
  if (key === 'builder') b.drv.builder = s;
  else if (key === 'system') b.drv.platform = s;
  else if (key === 'outputHash') b.outputHash = s;
  else if (key === 'outputHashAlgo') b.outputHashAlgo = s;
  else if (key === 'outputHashMode') handleHashMode(b, s);
  else if (key === 'outputs') handleOutputs(b, s.split(/[ \t\n\r]+/).filter((x) => x !== ''));
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

/** 2.8 `newHashAllowEmpty`: its errors carry no position; an empty hash
 *  is accepted with a warning. */
function parseOutputHash(b: DrvBuild, io: GlueIO): Hash {
  const pos = null;
  const algo = b.outputHashAlgo ? b.outputHashAlgo : undefined;
  let type: HashType | undefined;
  if (algo !== undefined) {
    // parseHashTypeOpt: an unknown name is no type at all.
    if (isHashType(algo)) type = parseHashType(algo);
  }
  const s = b.outputHash!;
  if (s === '') {
    if (type === undefined) throw err('empty hash requires explicit hash type', pos);
    const h = new Hash(type, new Uint8Array({ md5: 16, sha1: 20, sha256: 32, sha512: 64 }[type]));
    io.trace(`warning: found empty hash, assuming '${h.sri}'`);
    return h;
  }
  try {
    return parseHash(s, type);
  } catch (e) {
    throw err((e as Error).message, pos);
  }
}

function requireFeature(features: ReadonlySet<string>, f: string): void {
  if (!features.has(f)) {
    // A settings error in 2.8: no position.
    throw err(`experimental Nix feature '${f}' is disabled; use '--extra-experimental-features ${f}' to override`, null);
  }
}

export function derivationStrict(state: EvalState, io: GlueIO, arg: Lazy, pos?: Pos, features: ReadonlySet<string> = new Set()): Value {
  const attrs = forceAttrs(arg, pos);
  const nameV = attrs.get('name');
  if (nameV === undefined) throw missingAttr('name', attrs, pos, 'derivationStrict');
  const posDrvName = attrs.posOf('name') ?? null;
  let drvName: string;
  try {
    drvName = forceStringNoCtxIn(state, nameV, pos);
  } catch (e) {
    if (e instanceof EvalError) e.addFrame("while evaluating the derivation attribute 'name'", posDrvName);
    throw e;
  }
  const structured = attrs.has('__structuredAttrs') && forceBool(attrs.get('__structuredAttrs')!, pos);
  const ignoreNulls = attrs.has('__ignoreNulls') && forceBool(attrs.get('__ignoreNulls')!, pos);
  const b: DrvBuild = {
    pos, posDrvName,
    drv: { name: drvName, outputs: new Map(), inputDrvs: new Map(), inputSrcs: new Set(), platform: '', builder: '', args: [], env: new Map() },
    ctx: new Set(), outputs: ['out'], contentAddressed: false, impure: false,
  };
  const json = structured ? new Map<string, string>() : null;
  for (const key of attrs.keys()) {
    if (key === '__ignoreNulls') continue;
    const v = attrs.get(key)!;
    try {
      if (ignoreNulls && force(v) === null) continue;
      if (key === '__contentAddressed') {
        b.contentAddressed = forceBool(v, pos);
        if (b.contentAddressed) requireFeature(features, 'ca-derivations');
      } else if (key === '__impure') {
        b.impure = forceBool(v, pos);
        if (b.impure) requireFeature(features, 'impure-derivations');
      }
      addAttr(state, b, key, v, json, attrs.posOf(key));
    } catch (e) {
      if (e instanceof EvalError) e.addFrame(`while evaluating the attribute '${key}' of the derivation '${drvName}'`, posDrvName);
      throw e;
    }
  }
  if (json !== null) {
    const keys = [...json.keys()].sort();
    b.drv.env.set('__json', `{${keys.map((k) => `${valueToJSON(state, k, b.ctx)}:${json.get(k)}`).join(',')}}`);
  }
  addInputs(io, b);
  if (b.drv.builder === '') throw err(`required attribute 'builder' missing`, posDrvName);
  if (b.drv.platform === '') throw err(`required attribute 'system' missing`, posDrvName);
  if (drvName.endsWith('.drv')) throw err(`derivation names are not allowed to end in '.drv'`, posDrvName);
  return finish(io, b);
}


function finish(io: GlueIO, b: DrvBuild): Value {
  // Store-path and hash errors carry no position in 2.8.
  const pos = null;
  const { drv } = b;
  if (b.outputHash !== undefined) {
    if (b.outputs.length !== 1 || b.outputs[0] !== 'out') throw err('multiple outputs are not supported in fixed-output derivations', b.posDrvName);
    const h = parseOutputHash(b, io);
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

/**
 * Filesystem and store primops (Nix 2.8), all through `EvalIO`: import,
 * scopedImport, readFile, readDir, pathExists, hashFile, findFile (+ the
 * `<p>` desugaring's failure, catchable), toPath, storePath, path,
 * filterSource, toFile, placeholder.
 */
import type { Pos } from '../ast.js';
import { call1 } from '../call.js';
import { coerceToPath, coerceToString } from '../coerce.js';
import { CatchableError, EvalError, EvalErrorCode } from '../errors.js';
import type { CopyToStoreOptions, EvalIO } from '../io.js';
import { NixError } from '../../core/index.js';
import { baseNameOf, canonPath, dirOf } from '../paths.js';
import type { EvalState } from '../state.js';
import {
  NixAttrs, NixPath, force, forceAttrs, isFunction, showType, forceBool, forceStr, forceStringValue, strOf, ctxOf,
  type Lazy, type Value,
} from '../value.js';
import { forceList } from '../list.js';
import { StorePath, encodeBase32, parseHash } from '../../formats/index.js';
import { createHash } from 'node:crypto';
import { COREPKGS_PREFIX } from '../corepkgs.js';
import { importDerivation, isDerivationPath } from '../imported-drv.js';
import type { BuiltinRegistry } from './registry.js';
import { checkHashAlgo, hashHex } from './strings.js';
import { mkStr } from './util.js';

/** Coerce to an absolute path and make its context available (IFD). */
export function realisePath(state: EvalState, v: Lazy, pos: Pos | undefined): string {
  const ctx = new Set<string>();
  const p = coerceToPath(state, v, ctx, pos);
  if (ctx.size > 0) state.realiseContext([...ctx]);
  state.checkSourcePath(p, pos);
  return p;
}

/**
 * 2.8's `realisePath` helper of import, readFile, readDir, hashFile and
 * pathExists, with its trace frames: coercion errors get `while realising
 * the context of a path`, failures to realise the context or to pass the
 * pure-mode check (which then has no position of its own) `while realising
 * the context of path '…'`. With `checkPure` false the check is left to the
 * caller (pathExists).
 */
function realisePathTraced(state: EvalState, v: Lazy, pos: Pos | undefined, checkPure = true): string {
  const ctx = new Set<string>();
  let p: string;
  try {
    p = coerceToPath(state, v, ctx, pos);
  } catch (e) {
    throw withFrame(e, pos, 'while realising the context of a path');
  }
  try {
    if (ctx.size > 0) state.realiseContext([...ctx]);
    if (checkPure) state.checkSourcePath(p, null);
  } catch (e) {
    throw withFrame(e, pos, `while realising the context of path '${p}'`);
  }
  return p;
}

function withFrame(e: unknown, pos: Pos | undefined, msg: string): unknown {
  if (e instanceof EvalError) {
    if (e.pos === undefined) e.pos = pos;
    e.addFrame(msg, pos);
  }
  return e;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function parseSha256(s: string, pos: Pos | null | undefined): string | undefined {
  if (s === '') return undefined;
  try {
    return parseHash(s, 'sha256').base16;
  } catch (e) {
    throw new EvalError(EvalErrorCode.E_EVAL, (e as Error).message, pos);
  }
}

export function placeholder(output: string): string {
  const h = createHash('sha256').update('nix-output:' + output).digest();
  return '/' + encodeBase32(new Uint8Array(h));
}

function findFile(state: EvalState, list: Lazy[], name: string, pos: Pos | undefined): Value {
  for (const e of list) {
    const a = forceAttrs(e, pos);
    const pl = a.get('path');
    if (pl === undefined) throw new EvalError(EvalErrorCode.E_MISSING_ATTR, "attribute 'path' missing", pos);
    const prefix = a.has('prefix') ? forceStr(a.get('prefix')!, pos) : '';
    let suffix: string;
    if (prefix === '') suffix = '/' + name;
    else if (name === prefix) suffix = '';
    else if (name.startsWith(prefix + '/')) suffix = name.slice(prefix.length);
    else continue;
    const ctx = new Set<string>();
    let base = coerceToString(state, pl, ctx, { coerceMore: false, copyToStore: false }, pos);
    if (ctx.size > 0) state.realiseContext([...ctx]);
    const given = base;
    // 2.8 resolveSearchPathElem: entries are made absolute against the cwd.
    if (!base.startsWith('/')) base = process.cwd() + '/' + base;
    if (!given.includes('://') && !state.io.pathExists(canonPath(base))) {
      // …and a missing one is skipped with a warning, once.
      if (!state.missingSearchPath.has(given)) {
        state.missingSearchPath.add(given);
        state.trace(`warning: Nix search path entry '${given}' does not exist, ignoring`);
      }
      continue;
    }
    const full = canonPath(base + suffix);
    if (state.io.pathExists(full)) return new NixPath(full);
  }
  if (name.startsWith('nix/')) return new NixPath(COREPKGS_PREFIX + name.slice(4));
  throw new CatchableError(EvalErrorCode.E_NOT_FOUND, state.pureEval
    ? `cannot look up '<${name}>' in pure evaluation mode (use '--impure' to override)`
    : `file '${name}' was not found in the Nix search path (add it using $NIX_PATH or -I)`, pos);
}

function addPath(state: EvalState, o: CopyToStoreOptions, pos: Pos | undefined): Value {
  let sp: string;
  try {
    sp = state.io.copyPathToStore(o);
  } catch (e) {
    if (e instanceof EvalError) {
      if (e.pos === undefined) e.pos = null;
      e.addFrame(`while adding path '${o.path}'`, pos);
    }
    throw e;
  }
  return mkStr(sp, new Set([sp]));
}

function filterFn(fl: Lazy | undefined, pos: Pos | undefined): CopyToStoreOptions['filter'] {
  if (fl === undefined) return undefined;
  const f = force(fl);
  // 2.8 passes the path as a plain string.
  return (path, type) => forceBool(call1(call1(f, path, pos), type, pos), pos);
}

function builtinPath(state: EvalState, a: NixAttrs, pos: Pos | undefined): Value {
  let path: string | undefined;
  let name: string | undefined;
  let recursive = true;
  let sha256: string | undefined;
  let filter: CopyToStoreOptions['filter'];
  for (const k of a.keys()) {
    const v = a.get(k)!;
    // 2.8 checks each argument at its attribute (the filter at the call).
    const at = a.posOf(k) ?? pos;
    if (k === 'path') path = realisePath(state, v, at);
    else if (k === 'name') name = forceStr(v, at);
    else if (k === 'filter') filter = filterFn(v, pos);
    else if (k === 'recursive') recursive = forceBool(v, at);
    else if (k === 'sha256') sha256 = parseSha256(forceStr(v, at), null); // newHashAllowEmpty: no position
    else throw new EvalError(EvalErrorCode.E_EVAL, `unsupported argument '${k}' to 'addPath'`, at);
  }
  if (path === undefined) throw new EvalError(EvalErrorCode.E_EVAL, "'path' required", pos);
  return addPath(state, { path, name: name ?? baseNameOf(path), recursive, filter, expectedSha256: sha256 }, pos);
}

export function register(r: BuiltinRegistry): void {
  r.add('import', 1, (args, pos, state) => { const p = args[0];
    const path = realisePathTraced(state, p!, pos);
    return isDerivationPath(state, path) ? importDerivation(state, path) : state.evalFile(path);
  });
  r.add('scopedImport', 2, (args, pos, state) => { const s = args[0], p = args[1];
    const scope = forceAttrs(s!, pos);
    return state.evalFileScoped(scope, realisePathTraced(state, p!, pos));
  });
  r.add('readFile', 1, (args, pos, state) => { const p = args[0];
    const path = realisePathTraced(state, p!, pos);
    const bytes = state.io.readFile(path);
    if (bytes.includes(0)) {
      // A plain Error in 2.8: no position.
      throw new EvalError(EvalErrorCode.E_EVAL, `the contents of the file '${path}' cannot be represented as a Nix string`, null);
    }
    return latin1(bytes);
  });
  r.add('readDir', 1, (args, pos, state) => { const p = args[0];
    const path = realisePathTraced(state, p!, pos);
    const m = new Map<string, Lazy>();
    for (const [n, t] of state.io.readDir(path)) m.set(n, t);
    return NixAttrs.fromMap(m);
  });
  r.add('pathExists', 1, (args, pos, state) => { const p = args[0];
    const path = realisePathTraced(state, p!, pos, false);
    // 2.8: a path outside the allowed ones "does not exist" in pure mode.
    if (!state.isAllowedPath(path)) return false;
    return state.io.pathExists(path);
  });
  r.add('hashFile', 2, (args, pos, state) => { const a = args[0], p = args[1];
    const algo = forceStr(a!, pos);
    checkHashAlgo(algo);
    const path = realisePathTraced(state, p!, pos);
    return hashHex(algo, latin1(state.io.readFile(path)));
  });
  r.add('findFile', 2, (args, pos, state) => { const l = args[0], n = args[1]; return findFile(state, forceList(l!, pos), forceStr(n!, pos), pos); });
  r.add('toPath', 1, (args, pos, state) => { const p = args[0];
    const ctx = new Set<string>();
    const s = coerceToPath(state, p!, ctx, pos);
    return mkStr(canonPath(s), ctx);
  });
  r.add('storePath', 1, (args, pos, state) => { const p = args[0];
    if (state.pureEval) throw new EvalError(EvalErrorCode.E_RESTRICTED, "'builtins.storePath' is not allowed in pure evaluation mode", pos);
    const ctx = new Set<string>();
    let path = canonPath(coerceToPath(state, p!, ctx, pos));
    const dir = state.storeDir + '/';
    // As 2.8: a path that is not itself a store path has its symlinks resolved (`./result`).
    if (!isStorePathItself(dir, path)) path = canonPathResolving(state.io, path);
    const rest = path.startsWith(dir) ? path.slice(dir.length) : '';
    if (rest === '') throw new EvalError(EvalErrorCode.E_EVAL, `path '${path}' is not in the Nix store`, pos);
    // As 2.8's toStorePath: the first component must parse, else its BadStorePath (which has no position).
    const sp = dir + new StorePath(rest.split('/')[0]!).baseName;
    // 2.8 only ensurePath()s outside read-only mode; there is nothing to
    // substitute from here, so validity is left to whoever builds with it.
    ctx.add(sp);
    return mkStr(path, ctx);
  });
  r.add('path', 1, (args, pos, state) => { const a = args[0]; return builtinPath(state, forceAttrs(a!, pos), pos); });
  r.add('filterSource', 2, (args, pos, state) => { const f = args[0], p = args[1];
    const path = realisePath(state, p!, pos);
    const fv = force(f!);
    if (!isFunction(fv)) {
      throw new EvalError(EvalErrorCode.E_TYPE, `first argument in call to 'filterSource' is not a function but ${showType(fv)}`, pos);
    }
    return addPath(state, { path, name: baseNameOf(path), recursive: true, filter: filterFn(fv, pos) }, pos);
  });
  r.add('toFile', 2, (args, pos, state) => { const n = args[0], s = args[1];
    const name = forceStr(n!, pos);
    const sv = forceStringValue(s!, pos);
    const refs: string[] = [];
    // 2.8 walks the context in sorted order and names the first derivation reference.
    for (const c of [...ctxOf(sv)].sort()) {
      if (c.startsWith('=') || c.startsWith('!')) {
        throw new EvalError(EvalErrorCode.E_EVAL,
          `in 'toFile': the file named '${name}' must not contain a reference to a derivation but contains (${c})`, pos);
      }
      refs.push(c);
    }
    const sp = state.io.addTextToStore(name, new Uint8Array(Buffer.from(strOf(sv), 'latin1')), refs.sort());
    return mkStr(sp, new Set([sp]));
  });
  r.add('placeholder', 1, (args, pos) => { const o = args[0]; return placeholder(forceStr(o!, pos)); });
}

/** 2.8 `isStorePath`: `<store>/<valid base name>`, nothing below it. */
function isStorePathItself(dir: string, path: string): boolean {
  if (!path.startsWith(dir) || path.indexOf('/', dir.length) >= 0) return false;
  try {
    new StorePath(path.slice(dir.length));
    return true;
  } catch {
    return false;
  }
}

/**
 * 2.8 `canonPath(path, true)`: `canonPath`, also following symlinks component
 * by component (relative targets against their directory), at most 1024 times.
 * A component that is not there is 2.8's "getting status of" error, naming it;
 * like 2.8's system errors, these carry no position.
 */
function canonPathResolving(io: EvalIO, path: string): string {
  let parts = path.split('/');
  let s = '';
  let follows = 0;
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      s = s.slice(0, Math.max(0, s.lastIndexOf('/')));
      continue;
    }
    s += '/' + seg;
    const type = io.fileType(s);
    if (type === undefined) throw new NixError(EvalErrorCode.E_IO, `getting status of '${s}': No such file or directory`);
    if (type !== 'symlink') continue;
    if (++follows >= 1024) throw new NixError(EvalErrorCode.E_IO, `infinite symlink recursion in path '${path}'`);
    const target = io.readLink(s);
    parts = [...target.split('/'), ...parts.slice(i + 1)];
    i = -1;
    s = target.startsWith('/') ? '' : dirOf(s) === '/' ? '' : dirOf(s);
  }
  return s === '' ? '/' : s;
}

/**
 * `EvalState` (Nix 2.8 `EvalState`): the base environment with the
 * builtins, the import cache, the path→store cache, the search path, and
 * the entry points that parse + compile + evaluate.
 */
import type * as A from './ast.js';
import { createBuiltins } from './builtins/index.js';
import type { BuiltinRegistry } from './builtins/registry.js';
import { call1, traceSettings } from './call.js';
import { Compiler } from './compile.js';
import { EvalError, EvalErrorCode, originName, showPos } from './errors.js';
import type { EvalIO } from './io.js';
import { parse } from './parser.js';
import { baseNameOf, canonPath, dirOf } from './paths.js';
import { Scope } from './scope.js';
import { showExpr } from './show-expr.js';
import { filterLogText } from '../core/index.js';
import { COREPKGS_PREFIX, corepkgsSource } from './corepkgs.js';
import {
  NixAttrs, NixString, Thunk, force, forceAttrs, showType, type Env, type Lazy, type Value,
} from './value.js';

export interface SearchPathEntry {
  /** '' for a plain directory entry. */
  readonly prefix: string;
  readonly path: string;
}

export interface EvalOptions {
  readonly io: EvalIO;
  /** `-I` entries first, then `NIX_PATH` entries (already split). */
  readonly searchPath?: readonly SearchPathEntry[];
  /** Pure evaluation mode (`--option pure-eval true`). */
  readonly pureEval?: boolean;
  /** `$HOME` for `~/` path literals. */
  readonly home?: string;
  /** Pure mode: paths that may be read from the start (2.8 allows only what was fetched or built). */
  readonly allowedPaths?: readonly string[];
  /** `--show-trace`: record call frames (costs a little per call). */
  readonly showTrace?: boolean;
  /** Register/replace builtins after the standard ones (glue: derivationStrict, fetchers, …). */
  readonly extraBuiltins?: (r: BuiltinRegistry) => void;
}

export class EvalState {
  readonly io: EvalIO;
  readonly searchPath: readonly SearchPathEntry[];
  readonly pureEval: boolean;
  readonly home: string | undefined;
  private readonly allowedPaths: Set<string>;
  readonly compiler: Compiler;
  readonly baseScope: Scope;
  readonly baseEnv: Env;
  readonly builtins: NixAttrs;
  private readonly importCache = new Map<string, Lazy>();
  private readonly srcToStore = new Map<string, string>();
  /** Lines printed by `builtins.trace` go here (defaults to io.trace / stderr). */
  trace: (line: string) => void;
  /** Search path entries found missing (2.8 warns once per entry: searchPathResolved). */
  readonly missingSearchPath = new Set<string>();

  constructor(opts: EvalOptions) {
    this.io = opts.io;
    this.pureEval = opts.pureEval ?? false;
    // 2.8 pure mode has no search path (-I and NIX_PATH are ignored; only <nix/…> resolves).
    this.searchPath = this.pureEval ? [] : opts.searchPath ?? [];
    this.home = opts.home;
    this.allowedPaths = new Set(opts.allowedPaths ?? []);
    this.compiler = new Compiler(this);
    traceSettings.showTrace = opts.showTrace ?? false;
    // Each line is one log message to 2.8's logger, which filters it (tabs, escapes).
    this.trace = (raw) => {
      const line = filterLogText(raw, true);
      if (this.io.trace) this.io.trace(line);
      else process.stderr.write(line + '\n');
    };
    const { scopeVars, env, builtins } = createBuiltins(this, opts.extraBuiltins);
    this.baseScope = new Scope(null, scopeVars);
    this.baseEnv = env;
    this.builtins = builtins;
  }

  get storeDir(): string {
    return this.io.storeDir;
  }

  /** Parse a source with 2.8's path resolution rules. */
  parseSource(source: A.Source, basePath: string): A.Expr {
    return parse(source, { basePath, home: this.home });
  }

  /** Compile an expression in the base scope (reports undefined variables). */
  compileExpr(e: A.Expr, scope: Scope = this.baseScope): (env: Env) => Value {
    return this.compiler.compile(e, scope);
  }

  /** Evaluate a parsed expression to WHNF. */
  evalExpr(e: A.Expr): Value {
    return this.compileExpr(e)(this.baseEnv);
  }

  /** `-E` / `--expr` text (a byte string) relative to `basePath`. */
  evalString(text: string, basePath: string, origin: 'string' | 'stdin' = 'string'): Value {
    const source: A.Source = { origin, path: '', text };
    return this.evalExpr(this.parseSource(source, basePath));
  }

  /** 2.8 `resolveExprPath`: follow symlinks of the path itself, then `default.nix` for directories. */
  resolveExprPath(path: string): string {
    let p = path;
    for (let i = 0; i < 100; i++) {
      const t = this.io.fileType(p);
      if (t === undefined) {
        throw new EvalError(EvalErrorCode.E_IO, `getting status of '${p}': No such file or directory`, null);
      }
      if (t === 'symlink') {
        const target = this.io.readLink(p);
        p = target.startsWith('/') ? canonPath(target) : canonPath(dirOf(p) + '/' + target);
        continue;
      }
      if (t === 'directory') return canonPath(p + '/default.nix');
      return p;
    }
    throw new EvalError(EvalErrorCode.E_IO, `too many symbolic links at '${path}'`);
  }

  /** Parse + evaluate a file (import semantics, cached by resolved path). */
  evalFile(path: string): Value {
    const core = corepkgsSource(path);
    if (core !== undefined) {
      return this.evalExpr(this.parseSource({ origin: 'file', path, text: core }, '/'));
    }
    this.checkSourcePath(path, null);
    const resolved = this.resolveExprPath(path);
    let v = this.importCache.get(resolved);
    if (v === undefined) {
      const t = new Thunk(() => {
        const text = Buffer.from(this.io.readFile(resolved)).toString('latin1');
        const source: A.Source = { origin: 'file', path: resolved, text };
        return this.evalExpr(this.parseSource(source, dirOf(resolved)));
      }, []);
      this.importCache.set(resolved, t);
      v = t;
    }
    return force(v);
  }

  /** `scopedImport attrs path`: the set's attributes become lexical variables. */
  evalFileScoped(scope: NixAttrs, path: string): Value {
    const resolved = this.resolveExprPath(path);
    const text = Buffer.from(this.io.readFile(resolved)).toString('latin1');
    const source: A.Source = { origin: 'file', path: resolved, text };
    const e = this.parseSource(source, dirOf(resolved));
    const vars = new Map<string, number>();
    const env: Env = [this.baseEnv];
    for (const k of scope.keys()) {
      vars.set(k, env.length);
      env.push(scope.get(k));
    }
    return this.compileExpr(e, new Scope(this.baseScope, vars))(env);
  }

  /** Apply a function value to one argument. */
  callFunction(f: Value, arg: Lazy, pos?: A.Pos): Value {
    return call1(f, arg, pos);
  }

  /** Pure mode (2.8 `checkSourcePath`): only allowed paths may be read: what
   *  fetchers fetched and the outputs built for the evaluation, not the rest of
   *  the store (2.8 forbids reading a `toFile` result or listing the store). */
  isAllowedPath(path: string): boolean {
    if (!this.pureEval || path.startsWith(COREPKGS_PREFIX)) return true;
    for (const root of this.allowedPaths) {
      if (path === root || path.startsWith(root.endsWith('/') ? root : root + '/')) return true;
    }
    return false;
  }

  /** 2.8 `allowPath`: `path` (and what is under it) may be read in pure mode. */
  allowPath(path: string): void {
    if (this.pureEval) this.allowedPaths.add(path);
  }

  /** Make a context available (IFD); in pure mode the outputs built for it may be read. */
  realiseContext(context: readonly string[]): void {
    const outputs = this.io.realiseContext(context);
    if (outputs) for (const p of outputs) this.allowPath(p);
  }

  checkSourcePath(path: string, pos?: A.Pos | null): void {
    if (this.isAllowedPath(path)) return;
    throw new EvalError(EvalErrorCode.E_RESTRICTED,
      `access to absolute path '${path}' is forbidden in pure eval mode (use '--impure' to override)`, pos);
  }

  /** Copy a source path to the store once per evaluation (2.8 `srcToStore`). */
  copyPathToStore(path: string, pos?: A.Pos): string {
    const cached = this.srcToStore.get(path);
    if (cached !== undefined) return cached;
    this.checkSourcePath(path, pos);
    if (path.startsWith(this.storeDir + '/')) {
      // Already a store path (or inside one): 2.8 still copies; use as is when it is a store path.
      const rest = path.slice(this.storeDir.length + 1);
      if (!rest.includes('/')) return path;
    }
    let sp: string;
    try {
      sp = this.io.copyPathToStore({ path, name: baseNameOf(path), recursive: true });
    } catch (e) {
      if (e instanceof EvalError && e.pos === undefined) e.pos = pos;
      throw e;
    }
    this.srcToStore.set(path, sp);
    return sp;
  }

  /** `{ file; line; column; }` for `__curPos` / `unsafeGetAttrPos`. */
  posToAttrs(pos: A.Pos): NixAttrs {
    // 2.8 quirk: for `-E` the "file" is the expression text itself.
    const file = pos.file.origin === 'file' ? pos.file.path : pos.file.text;
    return NixAttrs.fromEntries([
      ['column', pos.column],
      ['file', file],
      ['line', pos.line],
    ]);
  }

  forceStringNoCtx(v: Value, pos?: A.Pos | null): string {
    if (typeof v === 'string') return v;
    if (v instanceof NixString) {
      throw new EvalError(EvalErrorCode.E_EVAL,
        `the string '${v.s}' is not allowed to refer to a store path (such as '${[...v.context][0]}')`, pos);
    }
    throw new EvalError(EvalErrorCode.E_TYPE, `value is ${describeType(v)} while a string was expected`, pos);
  }

  showPos(pos: A.Pos): string {
    return showPos(pos);
  }

  originName(pos: A.Pos): string {
    return originName(pos);
  }

  showExpr(e: A.Expr): string {
    return showExpr(e);
  }

  /** 2.8 `rec { __overrides = …; }`: overriding attributes also rebinds the rec scope. */
  applyOverrides(a: NixAttrs, env2: Env, names: string[]): NixAttrs {
    const ov = a.get('__overrides');
    if (ov === undefined) return a;
    const o = forceAttrs(ov);
    for (const k of o.keys()) {
      const v = o.get(k)!;
      const i = names.indexOf(k);
      if (i >= 0) env2[i + 1] = v;
      a.set(k, v);
    }
    return a;
  }
}

function describeType(v: Value): string {
  return showType(v).replace(/^(an?|a) /, '$1 ');
}

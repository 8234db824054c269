/**
 * One evaluation request from the CLI (`nix-instantiate`, `nix eval`,
 * `nix-build`), run on the evaluator thread: builds an `EvalState` over
 * `GlueIO`, evaluates, and renders stdout/stderr exactly as Nix 2.8's
 * `nix-instantiate` / `nix eval` do (nix-instantiate.cc `processExpr`,
 * nix/eval.cc). Errors are rendered here too, so the CLI only copies bytes.
 */
import {
  EvalError, EvalErrorCode, EvalState, NixAttrs, NixString, Thunk, callN, coerceToString, force, forceValueDeep, isStackOverflow,
  printAst, printValue, renderEvalError, valueToJSON, valueToXML, type Lazy, type SearchPathEntry, type Value,
} from '../eval/index.js';
import { isNixError } from '../core/index.js';
import { autoCallFunction, drvPathOf, findAlongAttrPath, getDerivations, outputNameOf } from './attr-path.js';
import { registerDerivation } from './derivation-builtin.js';
import { registerFetchers } from './fetchers.js';
import { GlueIO, type StoreBridge } from './store-io.js';
import { NeedWorker } from './deferred-store.js';

export type EvalInput =
  | { kind: 'expr'; text: string }
  | { kind: 'file'; path: string }
  | { kind: 'stdin'; text: string };

export interface EvalJob {
  mode: 'eval' | 'instantiate' | 'parse' | 'find-file' | 'nix-eval';
  /** Byte strings. */
  inputs: EvalInput[];
  attrPaths: string[];
  autoArgs: Array<{ name: string; kind: 'expr' | 'str'; value: string }>;
  output: 'plain' | 'json' | 'xml' | 'raw';
  strict: boolean;
  location: boolean;
  showTrace: boolean;
  readWrite: boolean;
  pureEval: boolean;
  searchPath: SearchPathEntry[];
  cwd: string;
  home: string;
  env: Record<string, string | undefined>;
  storeDir: string;
  system: string;
  /** Enabled experimental features (`ca-derivations`, `impure-derivations`, …). */
  experimentalFeatures?: string[];
  gcRoot?: string;
  /** `nix eval --apply F`: a function applied to the selected value. */
  apply?: string;
  /** argv[0] as invoked, for a usage error's "Try '<program> --help'" line (none without it). */
  programName?: string;
}

export interface EvalOutput {
  stdout: Uint8Array;
  /** A byte string (one char per byte of UTF-8): write with `Buffer.from(stderr, 'latin1')`. */
  stderr: string;
  status: number;
  /** The main-thread attempt gave up (stack, or the store was needed): re-run on the worker. */
  needWorker?: boolean;
  /** Time spent evaluating and printing on the evaluator thread (ms). */
  evalMs?: number;
  /** For `instantiate`: the derivations found, in order. */
  drvs?: Array<{ drvPath: string; outputName: string; attrPath: string }>;
}

class Out {
  readonly chunks: string[] = [];
  stderr = '';
  write(s: string): void {
    this.chunks.push(s);
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.from(this.chunks.join(''), 'latin1'));
  }
}

export function makeState(job: EvalJob, bridge: StoreBridge | undefined, err: (l: string) => void): { state: EvalState; io: GlueIO } {
  const io = new GlueIO({ storeDir: job.storeDir, system: job.system, env: job.env, bridge, readWrite: job.readWrite, stderr: err });
  const state = new EvalState({
    io,
    searchPath: job.searchPath,
    pureEval: job.pureEval,
    showTrace: job.showTrace,
    home: job.home,
    extraBuiltins: (r) => {
      const features = new Set(job.experimentalFeatures ?? []);
      registerDerivation(r, io, features);
      registerFetchers(r, io, features);
    },
  });
  return { state, io };
}

function autoArgsOf(state: EvalState, job: EvalJob): NixAttrs {
  const a = new Map<string, Lazy>();
  for (const arg of job.autoArgs) {
    if (arg.kind === 'str') a.set(arg.name, arg.value);
    else a.set(arg.name, new Thunk(() => state.evalString(arg.value, job.cwd), []));
  }
  return NixAttrs.fromMap(a);
}

function parseInput(state: EvalState, job: EvalJob, input: EvalInput) {
  if (input.kind === 'expr') return state.parseSource({ origin: 'string', path: '', text: input.text }, job.cwd);
  if (input.kind === 'stdin') return state.parseSource({ origin: 'stdin', path: '', text: input.text }, job.cwd);
  const resolved = state.resolveExprPath(input.path);
  const text = Buffer.from(state.io.readFile(resolved)).toString('latin1');
  const dir = resolved.slice(0, Math.max(1, resolved.lastIndexOf('/')));
  return state.parseSource({ origin: 'file', path: resolved, text }, dir);
}

function evalInput(state: EvalState, job: EvalJob, input: EvalInput): Value {
  if (input.kind === 'file') {
    const p = input.path.startsWith('<') && input.path.endsWith('>') ? findFile(state, input.path.slice(1, -1)) : input.path;
    return state.evalFile(p);
  }
  return state.evalExpr(parseInput(state, job, input));
}

function printResult(state: EvalState, job: EvalJob, v: Lazy, out: Out): void {
  if (job.output === 'xml') {
    out.write(valueToXML(v, { strict: job.strict, location: job.location }));
  } else if (job.output === 'json') {
    // 2.8 streams JSON: on an error, what was written so far stays on stdout.
    const parts: string[] = [];
    try {
      valueToJSON(state, v, new Set(), undefined, { strict: job.strict, out: parts });
    } finally {
      out.write(parts.join(''));
    }
  } else {
    if (job.strict) forceValueDeep(v);
    out.write(printValue(v) + '\n');
  }
}

function runInstantiate(state: EvalState, io: GlueIO, job: EvalJob, v: Lazy, args: NixAttrs, out: Out, res: EvalOutput, rootNr: { n: number }): void {
  for (const info of getDerivations(state, v, args)) {
    const d = { drvPath: drvPathOf(state, info), outputName: outputNameOf(state, info), attrPath: info.attrPath };
    if (d.outputName === '') throw new EvalError('E0301', `derivation '${d.drvPath}' lacks an 'outputName' attribute`);
    let shown = d.drvPath;
    if (job.gcRoot === undefined || job.gcRoot === '') {
      if (!rootNr.n) out.stderr += "warning: you did not specify '--add-root'; the result might be removed by the garbage collector\n";
      rootNr.n = -1;
    } else if (io.writer?.addPermRoot) {
      let link = job.gcRoot.startsWith('/') ? job.gcRoot : `${job.cwd}/${job.gcRoot}`;
      if (++rootNr.n > 1) link += `-${rootNr.n}`;
      shown = io.writer.addPermRoot(d.drvPath, link);
    }
    (res.drvs ??= []).push({ drvPath: d.drvPath, outputName: d.outputName, attrPath: d.attrPath });
    out.write(`${shown}${d.outputName !== 'out' ? '!' + d.outputName : ''}\n`);
  }
}

function runNixEval(state: EvalState, job: EvalJob, v: Lazy, out: Out): void {
  if (job.output === 'raw') {
    out.write(coerceToString(state, v, new Set(), { coerceMore: false, copyToStore: true }));
  } else if (job.output === 'json') {
    out.write(valueToJSON(state, v, new Set()));
  } else {
    forceValueDeep(v);
    out.write(printValue(v) + '\n');
  }
}

function findFile(state: EvalState, name: string): string {
  const v = state.evalString(`__findFile __nixPath ${JSON.stringify(name)}`, '/');
  return v instanceof NixString ? v.s : String(v && typeof v === 'object' && 'path' in v ? (v as { path: string }).path : v);
}

/** Render any error as 2.8 prints it (`error: …`), never a stack trace. */
export function renderError(e: unknown, showTrace: boolean, programName?: string): string {
  if (e instanceof EvalError) return renderEvalError(e, { showTrace, programName });
  if (isStackOverflow(e)) return 'error: stack overflow (possible infinite recursion)\n';
  if (isNixError(e)) return `error: ${e.message}\n${e.hint ? e.hint + '\n' : ''}`;
  const err = e as Error;
  return `error: internal error: ${err?.message ?? String(e)}\n`;
}

/**
 * Run a job on the current thread. `fallback` (the first, main-thread
 * attempt): give up with `needWorker` when the store is needed live, and on
 * a stack overflow unless `fallback === 'store'` (this thread's stack is
 * already as big as the worker's, so a re-run would overflow too).
 */
export function runEvalJob(job: EvalJob, bridge?: StoreBridge, fallback: boolean | 'store' = false): EvalOutput {
  const t0 = performance.now();
  const out = new Out();
  const res: EvalOutput = { stdout: new Uint8Array(), stderr: '', status: 0 };
  try {
    // stderr is a byte string (UTF-8 as latin1), like stdout: write it with Buffer.from(s, 'latin1').
    const { state, io } = makeState(job, bridge, (l) => { out.stderr += l + '\n'; });
    const args = autoArgsOf(state, job);
    const rootNr = { n: 0 };
    if (job.mode === 'find-file') {
      for (const input of job.inputs) {
        if (input.kind === 'file') out.write(findFile(state, input.path) + '\n');
      }
    }
    for (const input of job.mode === 'find-file' ? [] : job.inputs) {
      if (job.mode === 'parse') {
        const e = parseInput(state, job, input);
        state.compileExpr(e);
        out.write(printAst(e) + '\n');
        continue;
      }
      const root = evalInput(state, job, input);
      for (const ap of job.attrPaths) {
        const v = findAlongAttrPath(state, ap, args, root);
        force(v);
        if (job.mode === 'instantiate') {
          runInstantiate(state, io, job, v, args, out, res, rootNr);
        } else if (job.mode === 'nix-eval') {
          const applied: Lazy = job.apply === undefined ? v : callN(force(state.evalString(job.apply, job.cwd)), [v], undefined);
          runNixEval(state, job, applied, out);
        } else {
          const vRes: Lazy = args.size === 0 ? v : autoCallFunction(state, args, v);
          printResult(state, job, vRes, out);
        }
      }
    }
  } catch (e) {
    const overflow = isStackOverflow(e) || (e instanceof EvalError && e.code === EvalErrorCode.E_STACK_OVERFLOW);
    if (fallback !== false && (e instanceof NeedWorker || (overflow && fallback === true))) {
      return { stdout: new Uint8Array(), stderr: '', status: 1, needWorker: true };
    }
    out.stderr += Buffer.from(renderError(e, job.showTrace, job.programName), 'utf8').toString('latin1');
    res.status = isNixError(e) ? e.exitCode : 1;
  }
  res.stdout = out.bytes();
  res.stderr = out.stderr;
  res.evalMs = performance.now() - t0;
  return res;
}

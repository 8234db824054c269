/**
 * Evaluation errors (Nix 2.8 `EvalError` family) and their rendering.
 *
 * - `EvalError` carries the innermost position and, as it unwinds, trace
 *   frames (`… while evaluating 'f'`, `… from call site`), like Nix's
 *   `addTrace`. `renderEvalError` prints them the way 2.8 does.
 * - Catchable errors (`throw`, failed `assert`, failed `<path>` lookup) are
 *   `CatchableError`; only those are caught by `builtins.tryEval`.
 * - Code table: eval owns E03xx.
 */
import { NixError, errorLines, filterLogText, type NixErrorOptions } from '../core/index.js';
import type { Pos } from './ast.js';

export const EvalErrorCode = {
  E_EVAL: 'E0301',
  E_TYPE: 'E0302',
  E_THROWN: 'E0303',
  E_ASSERTION: 'E0304',
  E_ABORTED: 'E0305',
  E_INFINITE_RECURSION: 'E0306',
  E_STACK_OVERFLOW: 'E0307',
  E_MISSING_ATTR: 'E0308',
  E_UNDEFINED_VAR: 'E0309',
  E_DIVISION_BY_ZERO: 'E0310',
  E_PARSE: 'E0311',
  E_IO: 'E0312',
  E_RESTRICTED: 'E0313',
  E_INVALID_REGEX: 'E0314',
  E_JSON: 'E0315',
  E_NOT_FOUND: 'E0316',
} as const;

export interface TraceFrame {
  readonly pos?: Pos | null;
  readonly msg: string;
}

export class EvalError extends NixError {
  /** `null`: deliberately without position (2.8 `throw`, `abort`). */
  pos?: Pos | null;
  readonly frames: TraceFrame[] = [];
  /** Extra line printed after the excerpt (e.g. `Did you mean a?`). */
  suggestion?: string;

  /** `opts.usage`: a 2.8 `UsageError` (the CLI adds "Try '<program> --help'"). */
  constructor(code: string, message: string, pos?: Pos | null, opts?: NixErrorOptions) {
    super(code, message, opts);
    this.name = 'EvalError';
    this.pos = pos;
  }

  /** Record where the error was while unwinding (`--show-trace`). */
  addFrame(msg: string, pos?: Pos | null): this {
    this.frames.push({ msg, pos });
    this.traces.push(msg);
    return this;
  }
}

/** Errors `builtins.tryEval` catches: `throw`, failed `assert`, bad `<p>`. */
export class CatchableError extends EvalError {}

export function evalError(message: string, pos?: Pos): EvalError {
  return new EvalError(EvalErrorCode.E_EVAL, message, pos);
}

export function typeError(message: string, pos?: Pos): EvalError {
  return new EvalError(EvalErrorCode.E_TYPE, message, pos);
}

/** `error: infinite recursion encountered` (not catchable by tryEval). */
export function infiniteRecursion(pos?: Pos): EvalError {
  return new EvalError(EvalErrorCode.E_INFINITE_RECURSION, 'infinite recursion encountered', pos);
}

export function stackOverflow(): EvalError {
  return new EvalError(EvalErrorCode.E_STACK_OVERFLOW, 'stack overflow (possible infinite recursion)');
}

export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack size/.test(e.message);
}

/** Map JS resource exhaustion to Nix's errors (`stack overflow`, `out of
 *  memory`); other values are returned unchanged. For the CLI's top level. */
export function toEvalError(e: unknown): unknown {
  if (isStackOverflow(e)) return stackOverflow();
  if (e instanceof RangeError && /Invalid (array|string|typed array) length|Array buffer allocation failed/.test(e.message)) {
    return new EvalError(EvalErrorCode.E_EVAL, 'out of memory', null);
  }
  return e;
}

/** How Nix names a source in positions: path, «string» or «stdin». */
export function originName(pos: Pos): string {
  const f = pos.file;
  if (f.origin === 'file') return f.path;
  return f.origin === 'string' ? '«string»' : '«stdin»';
}

/** `file:line:col`, as in `at /x.nix:2:10:` */
export function showPos(pos: Pos): string {
  return `${originName(pos)}:${pos.line}:${pos.column}`;
}

/** `(string):1:2` form used inside some 2.8 messages ("anonymous function at …"). */
export function showPosParens(pos: Pos): string {
  const f = pos.file;
  const name = f.origin === 'file' ? f.path : f.origin === 'string' ? '(string)' : '(stdin)';
  return `${name}:${pos.line}:${pos.column}`;
}

function decode(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** The 2.8 excerpt: up to one line before and after, with a caret line. */
export function renderExcerpt(pos: Pos): string {
  const text = pos.file.text;
  const lines = text.split('\n');
  // 2.8 reads a file's lines one by one: a last line without its newline is
  // never read, so it is not shown (not even as the line after).
  if (pos.file.origin === 'file' && !text.endsWith('\n')) lines.pop();
  const idx = pos.line - 1;
  if (idx < 0 || idx >= lines.length) return '';
  // 2.8 right-aligns the line number in a 13-column field.
  const pad = (n: number) => String(n).padStart(13, ' ');
  let out = '';
  if (idx > 0) out += `${pad(idx)}| ${decode(lines[idx - 1]!)}\n`;
  out += `${pad(idx + 1)}| ${decode(lines[idx]!)}\n`;
  out += `${' '.repeat(13)}| ${' '.repeat(Math.max(0, pos.column - 1))}^\n`;
  // The empty remainder after a final newline is not a line.
  if (idx + 1 < lines.length && !(idx + 2 === lines.length && lines[idx + 1] === '')) out += `${pad(idx + 2)}| ${decode(lines[idx + 1]!)}\n`;
  return out;
}

/** `at file:line:col:` and its excerpt. Without an excerpt (a built-in
 *  file such as //builtin/derivation.nix, a line 2.8 cannot read) the block
 *  ends on the `at` line without its newline, as 2.8's showErrorInfo leaves
 *  it: a following trace line then comes without a blank line. */
function renderPosBlock(pos: Pos | null | undefined): string {
  if (!pos) return '';
  const name = pos.file.origin === 'file' ? decode(pos.file.path) : originName(pos);
  const excerpt = pos.file.origin === 'file' && pos.file.path.startsWith('//builtin/') ? '' : renderExcerpt(pos);
  return `\n       at ${name}:${pos.line}:${pos.column}:${excerpt === '' ? '' : '\n\n' + excerpt}`;
}

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}

/** Full stderr text for an evaluation error, as `nix-instantiate` 2.8 prints
 *  it; `programName` (argv[0]) for a usage error's hint. */
export function renderEvalError(e: EvalError, opts: { showTrace: boolean; programName?: string }): string {
  // 2.8 prints an empty message (`throw ""`) as one empty line, nothing else.
  if (e.message === '') return '\n';
  let out = `${errorLines(decode(e.message))}\n`;
  out += renderPosBlock(e.pos);
  if (e.suggestion) out = withNewline(out) + `       ${e.suggestion}\n`;
  if (opts.showTrace) {
    for (const f of e.frames) out += `\n       … ${decode(f.msg)}\n${renderPosBlock(f.pos)}`;
  } else if (e.frames.length > 0) {
    out = withNewline(out) + `(use '--show-trace' to show detailed location information)\n`;
  }
  // One log message in 2.8: its logger filters it as a whole (tabs, escapes).
  out = filterLogText(withNewline(out));
  if (e.usage && opts.programName !== undefined) out += `Try '${opts.programName} --help' for more information.\n`;
  return out;
}

/**
 * Typed, user-facing errors (Nix's `Error`/`BaseError` family).
 *
 * Every error a user can reach is a `NixError` with a stable code. Codes are
 * grouped by layer: each layer keeps its own table (`formats/errors.ts`,
 * `store/errors.ts`, …) so teams never edit one shared file, and
 * `test/error-codes.test.ts` checks that no code is used twice.
 * Broken invariants are plain `Error('Assertion failed: …')`, never NixError.
 */

/** Exit statuses Nix uses. Build failures form a bitmask over 100. */
export const ExitCode = {
  Failure: 1,
  BuildFailed: 100,
  Timeout: 101,
  HashMismatch: 102,
  NotDeterministic: 104,
} as const;

export interface NixErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Process exit status the CLI should use (default 1). */
  exitCode?: number;
  /** Extra trace lines, innermost first (`--show-trace`). */
  traces?: string[];
  /** A `UsageError` in 2.8: the CLI adds "Try '<program> --help' for more information.". */
  usage?: boolean;
}

export class NixError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;
  readonly traces: string[];
  readonly usage: boolean;

  constructor(code: string, message: string, opts: NixErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NixError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.Failure;
    this.traces = opts.traces ?? [];
    this.usage = opts.usage ?? false;
  }

  addTrace(trace: string): this {
    this.traces.push(trace);
    return this;
  }
}

/** Core-level codes (E00xx). Other layers own their own ranges:
 *  formats E01xx, store E02xx, eval E03xx, build E04xx, protocol E05xx,
 *  sandbox E06xx, recursive E07xx, glue E08xx, cli E09xx. */
export const CoreErrorCode = {
  E_USAGE: 'E0001',
  E_NOT_IMPLEMENTED: 'E0002',
  E_SETTING_UNKNOWN: 'E0003',
  E_SETTING_INVALID: 'E0004',
  E_IO: 'E0005',
  E_EXPERIMENTAL_FEATURE: 'E0006',
  E_INTERRUPTED: 'E0007',
} as const;

/**
 * The `error: …` line(s) of a message as 2.8 prints them: the lines after the
 * first indented under it, every line right-trimmed (an empty one stays
 * empty), trailing empty lines dropped. No final newline.
 */
export function errorLines(message: string): string {
  const lines = `error: ${message}`.split('\n').map((l, i) => (i === 0 ? l : l === '' ? l : `       ${l}`).trimEnd());
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

/**
 * What 2.8's logger does to a message on a non-terminal stderr: ANSI escape
 * sequences and CR/BEL dropped, tabs expanded to the next multiple of 8 of a
 * column counted over the whole message (a newline counts as one column and
 * does not reset it). `bytes`: `s` holds UTF-8 bytes one per char, so a
 * continuation byte takes no column.
 */
export function filterLogText(s: string, bytes = false): string {
  if (!/[\t\r\x07\x1b]/.test(s)) return s;
  let t = '';
  let w = 0;
  for (let i = 0; i < s.length;) {
    const c = s[i]!;
    if (c === '\x1b') {
      i++;
      if (s[i] === '[') {
        i++;
        while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x3f) i++;
        while (i < s.length && s.charCodeAt(i) >= 0x20 && s.charCodeAt(i) <= 0x2f) i++;
        if (i < s.length && s.charCodeAt(i) >= 0x40 && s.charCodeAt(i) <= 0x7e) i++;
      } else if (i < s.length && s.charCodeAt(i) >= 0x40 && s.charCodeAt(i) <= 0x5f) i++;
    } else if (c === '\t') {
      i++;
      t += ' ';
      w++;
      while (w % 8 !== 0) {
        t += ' ';
        w++;
      }
    } else if (c === '\r' || c === '\x07') {
      i++;
    } else {
      t += c;
      const code = s.charCodeAt(i);
      if (!bytes || code < 0x80 || code > 0xbf) w++;
      i++;
    }
  }
  return t;
}

export function isNixError(e: unknown): e is NixError {
  return e instanceof NixError;
}

export function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`Assertion failed: ${what}`);
}

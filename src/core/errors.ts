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

export function isNixError(e: unknown): e is NixError {
  return e instanceof NixError;
}

export function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`Assertion failed: ${what}`);
}

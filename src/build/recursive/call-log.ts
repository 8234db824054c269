/**
 * The record of every recursive call a build made (beyond upstream, issue 8
 * §6.8): op, path and result, per build. Upstream keeps no such record; tix
 * writes it as JSON lines under `<logDir>/recursive/<drv base name>.jsonl`,
 * read back by `tix log --recursive DRV`, and also emits one line per call into
 * the outer build's own log, so `nix log DRV` shows it too.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type CallResult = 'ok' | 'denied' | 'error';

export interface RecursiveCall {
  /** Milliseconds since the Unix epoch. */
  time: number;
  /** Store operation name (`queryPathInfo`, `addToStore`, `buildPaths`, …). */
  op: string;
  /** The path or derived path the call was about ('' for set-wide ops). */
  path: string;
  result: CallResult;
  /** Error text for denied/failed calls; the resulting path for adds. */
  detail?: string;
}

/** Where the JSON-lines record of one derivation's recursive calls lives. */
export function recursiveLogFile(logDir: string, drvBaseName: string): string {
  return join(logDir, 'recursive', `${drvBaseName}.jsonl`);
}

/** Prefix of the build-log lines, so `nix log` output can be filtered for them. */
export const BUILD_LOG_PREFIX = 'tix-recursive: ';

const QUIET_OPS: ReadonlySet<string> = new Set([
  'isValidPath', 'queryValidPaths', 'queryAllValidPaths', 'queryPathInfo', 'queryMissing', 'queryDerivationOutputMap',
]);

export function formatCall(c: RecursiveCall): string {
  const detail = c.detail === undefined || c.detail === '' ? '' : ` (${c.detail.split('\n')[0]})`;
  return `${c.op} ${c.path || '-'}: ${c.result}${detail}`;
}

export interface CallLogOptions {
  /** JSON-lines file to append to; none = memory only. */
  file?: string;
  /** The outer build's log (one line per call). */
  buildLog?: (line: string) => void;
}

export class RecursiveCallLog {
  readonly calls: RecursiveCall[] = [];
  private fileReady = false;

  constructor(private readonly opts: CallLogOptions = {}) {}

  record(op: string, path: string, result: CallResult, detail?: string): void {
    const c: RecursiveCall = { time: Date.now(), op, path, result };
    if (detail !== undefined) c.detail = detail;
    this.calls.push(c);
    // Queries are frequent (an inner `nix build` makes dozens); the build log gets the rest.
    if (result !== 'ok' || !QUIET_OPS.has(op)) this.opts.buildLog?.(BUILD_LOG_PREFIX + formatCall(c));
    this.writeFile(c);
  }

  private writeFile(c: RecursiveCall): void {
    const file = this.opts.file;
    if (file === undefined) return;
    try {
      if (!this.fileReady) {
        mkdirSync(join(file, '..'), { recursive: true });
        this.fileReady = true;
      }
      appendFileSync(file, JSON.stringify(c) + '\n');
    } catch {
      // The record is diagnostic: a full disk must not fail the build.
    }
  }
}

/** Read a record written by `RecursiveCallLog`; undefined when there is none. */
export function readCallLog(file: string): RecursiveCall[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const out: RecursiveCall[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as RecursiveCall);
    } catch {
      // A torn last line (build killed mid-write) is skipped.
    }
  }
  return out;
}

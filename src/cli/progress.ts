/**
 * Log sinks for the build commands (Nix 2.8 `SimpleLogger`, `ProgressBar`,
 * `JSONLogger`; `--log-format raw|bar|bar-with-logs|internal-json`).
 *
 * - legacy commands (`nix-build`, `nix-store`): plain lines; activity texts get
 *   "..."; build output is printed raw unless `-Q`.
 * - `nix` commands (`bar`): on a TTY a status line `[done/running/expected built]`
 *   with the current activity is redrawn under the log; without a TTY plain
 *   lines. Build output only with `-L`, prefixed `<drv name>> `.
 * - `internal-json`: one `@nix {…}` line per event.
 * Errors are printed like Nix prints them: `error: ` and continuation lines
 * indented by 7 spaces.
 */
import { ActivityType, ResultType, Verbosity, newActivityId, type Field, type Logger, type VerbosityLevel } from '../core/index.js';

export type LogFormat = 'raw' | 'bar' | 'bar-with-logs' | 'internal-json';

export interface ProgressOptions {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  format: LogFormat;
  /** Show build output lines. */
  printBuildLogs: boolean;
  /** Prefix build lines with the drv name (new CLI). */
  prefixLines: boolean;
  verbosity: number;
}

interface Act {
  type: number;
  text: string;
  name?: string;
  lastLine?: string;
}

export interface ProgressLogger extends Logger {
  /** Whether build output is shown (then failures need not repeat the log tail). */
  isVerbose(): boolean;
  /** Clear the status line. */
  stop(): void;
  /** Show an error as Nix's `logError` does (`error: …`, or a JSON `msg` with `raw_msg`). */
  error(msg: string): void;
}

/** `error: …` with continuation lines indented like Nix's `showErrorInfo`. */
export function formatError(msg: string, prefix = 'error: '): string {
  return prefix + msg.split('\n').join('\n' + ' '.repeat(7)) + '\n';
}

/**
 * Nix `filterANSIEscapes` (unbounded width): drop escape sequences (all of
 * them off a TTY, all but SGR `…m` on one), expand tabs to multiples of 8,
 * drop `\r` and `\a`.
 */
export function filterAnsiEscapes(s: string, filterAll: boolean): string {
  let t = '';
  let w = 0;
  let i = 0;
  const code = (k: number): number => s.charCodeAt(k);
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\x1b') {
      let e = c;
      i++;
      let last = '';
      if (s[i] === '[') {
        e += s[i++];
        while (i < s.length && code(i) >= 0x30 && code(i) <= 0x3f) e += s[i++];
        while (i < s.length && code(i) >= 0x20 && code(i) <= 0x2f) e += s[i++];
        if (i < s.length && code(i) >= 0x40 && code(i) <= 0x7e) e += last = s[i++]!;
      } else if (i < s.length && code(i) >= 0x40 && code(i) <= 0x5f) {
        e += s[i++];
      }
      if (!filterAll && last === 'm') t += e;
    } else if (c === '\t') {
      i++;
      t += ' ';
      w++;
      while (w % 8) {
        t += ' ';
        w++;
      }
    } else if (c === '\r' || c === '\x07') {
      i++;
    } else {
      // Width counts characters (code points), as Nix counts UTF-8 sequences.
      const cp = s.codePointAt(i)!;
      const n = cp > 0xffff ? 2 : 1;
      t += s.slice(i, i + n);
      i += n;
      w++;
    }
  }
  return t;
}

function drvName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const name = base.slice(33);
  return name.endsWith('.drv') ? name.slice(0, -4) : name;
}

export function makeProgressLogger(opts: ProgressOptions): ProgressLogger {
  if (opts.format === 'internal-json') return new JsonLogger(opts);
  return new TextLogger(opts);
}

class TextLogger implements ProgressLogger {
  private readonly acts = new Map<number, Act>();
  private readonly tty: boolean;
  private statusShown = false;
  private done = 0;
  private expected = 0;
  private running = 0;
  private failed = 0;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = opts.format !== 'raw' && opts.prefixLines && opts.stderr.isTTY === true;
  }

  isVerbose(): boolean {
    return this.opts.printBuildLogs;
  }

  private write(line: string): void {
    this.clearStatus();
    line = filterAnsiEscapes(line.endsWith('\n') ? line.slice(0, -1) : line, !this.opts.stderr.isTTY);
    this.opts.stderr.write(line + '\n');
    this.drawStatus();
  }

  log(level: VerbosityLevel, msg: string): void {
    if (level <= this.opts.verbosity) this.write(msg);
  }

  startActivity(type: number, text: string, fields: Field[] = [], _parent = 0, level: VerbosityLevel = Verbosity.Info): number {
    const id = newActivityId();
    const act: Act = { type, text };
    if (type === ActivityType.Build && typeof fields[0] === 'string') {
      act.name = drvName(fields[0]);
      this.running++;
    }
    this.acts.set(id, act);
    if (text !== '' && level <= this.opts.verbosity && type !== ActivityType.BuildWaiting) this.write(text + '...');
    else this.drawStatus();
    return id;
  }

  stopActivity(id: number): void {
    const act = this.acts.get(id);
    if (act?.type === ActivityType.Build) {
      this.running--;
      this.done++;
    }
    this.acts.delete(id);
    this.drawStatus();
  }

  result(id: number, type: number, fields: Field[]): void {
    const act = this.acts.get(id);
    if (type === ResultType.BuildLogLine || type === ResultType.PostBuildLogLine) {
      const line = String(fields[0] ?? '');
      if (this.opts.printBuildLogs) {
        this.write(this.opts.prefixLines ? `${act?.name ?? 'unnamed'}> ${line}` : line);
      } else if (act) {
        act.lastLine = line;
        this.drawStatus();
      }
    } else if (type === ResultType.SetExpected && fields[0] === ActivityType.Build) {
      this.expected = Number(fields[1] ?? 0);
      this.drawStatus();
    } else if (type === ResultType.Progress && act?.type === ActivityType.Builds) {
      this.done = Number(fields[0]);
      this.expected = Number(fields[1]);
      this.running = Number(fields[2]);
      this.failed = Number(fields[3]);
      this.drawStatus();
    }
  }

  /** Nix 2.8 `ProgressBar::getStatus` for builds: running/done/expected, done/expected, or done. */
  private statusText(): string {
    let current: Act | undefined;
    for (const a of this.acts.values()) if (a.type === ActivityType.Build) current = a;
    const { running, done } = this;
    const expected = Math.max(this.expected, done + running);
    let counts = '';
    if (running || done || expected || this.failed) {
      if (running) counts = expected !== 0 ? `${running}/${done}/${expected}` : `${running}/${done}`;
      else if (expected !== done) counts = expected !== 0 ? `${done}/${expected}` : `${done}`;
      else counts = `${done}`;
      counts = `${counts} built`;
      if (this.failed) counts += ` (${this.failed} failed)`;
    }
    let line = counts ? `[${counts}]` : '';
    if (current) line += ` building ${current.name ?? ''}${current.lastLine ? `: ${current.lastLine}` : ''}`;
    return line.trim();
  }

  private clearStatus(): void {
    if (this.statusShown) {
      this.opts.stderr.write('\r\x1b[K');
      this.statusShown = false;
    }
  }

  private drawStatus(): void {
    if (!this.tty) return;
    const cols = (this.opts.stderr as { columns?: number }).columns || 80;
    const text = this.statusText().slice(0, Math.max(cols - 1, 10));
    this.opts.stderr.write('\r\x1b[K' + text);
    this.statusShown = true;
  }

  stop(): void {
    this.clearStatus();
  }

  error(msg: string): void {
    this.clearStatus();
    this.opts.stderr.write(formatError(msg));
    this.drawStatus();
  }
}

/** `--log-format internal-json` (Nix `JSONLogger`). */
class JsonLogger implements ProgressLogger {
  constructor(private readonly opts: ProgressOptions) {}
  /** Keys sorted, as nlohmann::json prints them. */
  private emit(obj: Record<string, unknown>): void {
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) sorted[k] = obj[k];
    this.opts.stderr.write('@nix ' + JSON.stringify(sorted) + '\n');
  }
  /** 2.8's JSONLogger is always verbose: every log line is sent, so errors never repeat the tail. */
  isVerbose(): boolean {
    return true;
  }
  log(level: VerbosityLevel, msg: string): void {
    if (level <= this.opts.verbosity) this.emit({ action: 'msg', level, msg });
  }
  startActivity(type: number, text: string, fields: Field[] = [], parent = 0, level: VerbosityLevel = Verbosity.Info): number {
    const id = newActivityId();
    this.emit({ action: 'start', id, level, type, text, ...(parent ? { parent } : {}), ...(fields.length ? { fields } : {}) });
    return id;
  }
  stopActivity(id: number): void {
    this.emit({ action: 'stop', id });
  }
  result(id: number, type: number, fields: Field[]): void {
    // Results without an activity only feed the status line.
    if (id !== 0) this.emit({ action: 'result', id, type, fields });
  }
  stop(): void {}
  error(msg: string): void {
    const formatted = formatError(msg).slice(0, -1);
    this.emit({ action: 'msg', level: 0, msg: `\x1b[31;1merror:\x1b[0m${formatted.slice('error:'.length)}`, raw_msg: msg, file: null, line: null, column: null });
  }
}

/**
 * Watching a running builder (Nix 2.8 `Worker::waitForInput`,
 * `DerivationGoal::handleChildOutput`/`handleEOF`): raw bytes go to the log
 * file, lines (with Nix's `\r` handling: a carriage return restarts the
 * current line) go to the logger, the last `log-lines` lines are kept for the
 * error message, and `max-silent-time` / `timeout` kill the builder.
 */
import type { BuilderProcess } from '../hooks.js';

export interface MonitorOptions {
  /** Seconds without output before the builder is killed; 0 = never. */
  maxSilentTime: number;
  /** Seconds of total build time before the builder is killed; 0 = never. */
  timeout: number;
  /** How many trailing lines to keep. */
  tailLines: number;
  /** `max-log-size`: bytes of output before the builder is killed; 0 = unlimited. */
  maxLogSize?: number;
  onData(chunk: Uint8Array): void;
  onLine(line: string): void;
  /** A structured `@nix` line, handled by the caller: not a log line, not in the tail. */
  isEvent?(line: string): boolean;
  /** Aborting kills the builder (cancellation by the scheduler). */
  signal?: AbortSignal;
}

export type MonitorResult =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null; tail: string[] }
  | { kind: 'silent' | 'timeout' | 'cancelled' | 'logLimit'; tail: string[] };

/** Splits a byte stream into lines the way Nix does. */
export class LineSplitter {
  private cur: number[] = [];
  private pos = 0;
  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    for (const c of chunk) {
      if (c === 13) this.pos = 0;
      else if (c === 10) this.flush();
      else {
        if (this.pos >= this.cur.length) this.cur.length = this.pos + 1;
        this.cur[this.pos++] = c;
      }
    }
  }

  flush(): void {
    const line = Buffer.from(this.cur).toString('utf8');
    this.cur = [];
    this.pos = 0;
    this.emit(line);
  }

  end(): void {
    if (this.cur.length > 0) this.flush();
  }
}

export function monitorBuilder(proc: BuilderProcess, opts: MonitorOptions): Promise<MonitorResult> {
  const tail: string[] = [];
  const splitter = new LineSplitter((line) => {
    if (opts.isEvent?.(line)) return;
    tail.push(line);
    if (tail.length > opts.tailLines) tail.shift();
    opts.onLine(line);
  });
  return new Promise((resolve) => {
    let outcome: 'silent' | 'timeout' | 'cancelled' | 'logLimit' | undefined;
    let logSize = 0;
    let silentTimer: NodeJS.Timeout | undefined;
    const stop = (kind: 'silent' | 'timeout' | 'cancelled' | 'logLimit'): void => {
      if (outcome !== undefined) return;
      outcome = kind;
      proc.kill();
    };
    const armSilent = (): void => {
      if (opts.maxSilentTime <= 0) return;
      if (silentTimer) clearTimeout(silentTimer);
      silentTimer = setTimeout(() => stop('silent'), opts.maxSilentTime * 1000);
    };
    armSilent();
    const totalTimer = opts.timeout > 0 ? setTimeout(() => stop('timeout'), opts.timeout * 1000) : undefined;
    const onAbort = (): void => stop('cancelled');
    opts.signal?.addEventListener('abort', onAbort);
    if (opts.signal?.aborted) onAbort();

    proc.output.on('data', (chunk: Buffer) => {
      if (outcome !== undefined) return;
      logSize += chunk.length;
      if (opts.maxLogSize && logSize > opts.maxLogSize) {
        stop('logLimit');
        return;
      }
      armSilent();
      opts.onData(chunk);
      splitter.push(chunk);
    });
    let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let ended = false;
    const finish = (): void => {
      if (status === undefined || !ended) return;
      if (silentTimer) clearTimeout(silentTimer);
      if (totalTimer) clearTimeout(totalTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      splitter.end();
      if (outcome === undefined) resolve({ kind: 'exited', ...status, tail });
      else resolve({ kind: outcome, tail });
    };
    proc.output.on('end', () => {
      ended = true;
      finish();
    });
    proc.output.on('error', () => {
      ended = true;
      finish();
    });
    void proc.exited.then((s) => {
      status = s;
      // Like Nix, kill whatever the builder left in its process group: it may hold the log pipe.
      proc.kill();
      finish();
    });
  });
}

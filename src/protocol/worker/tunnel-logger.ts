/**
 * The server side of the stderr channel (nix-daemon's `TunnelLogger`,
 * daemon.cc). Log output produced while an operation runs goes to the client
 * as STDERR_NEXT / START_ACTIVITY / STOP_ACTIVITY / RESULT; each operation ends
 * with exactly one STDERR_LAST or STDERR_ERROR.
 *
 * Mirrors 2.8: messages are held back until `startWork` (the request is fully
 * parsed), NEXT lines above the client's verbosity are dropped, activities go
 * unfiltered to ≥1.20 clients and as "<text>..." lines to older ones.
 */
import { Verbosity, type Field, type Logger, type VerbosityLevel } from '../../core/index.js';
import { WireWriter } from '../../formats/index.js';
import {
  STDERR_ERROR,
  STDERR_LAST,
  STDERR_NEXT,
  STDERR_RESULT,
  STDERR_START_ACTIVITY,
  STDERR_STOP_ACTIVITY,
} from './version.js';
import { writeErrorRecord, type RemoteErrorInfo } from './serialise.js';

/** Where framed output goes; `write` returns a promise resolved once flushed enough. */
export interface ByteSink {
  write(b: Uint8Array): void;
  flush(): Promise<void>;
}

/** Activity ids are per-daemon-process unique u64s; ours start high to look like Nix's `pid << 32`. */
let nextId = 0; // set at first use: a startup snapshot loads this module in another process

/** Sinks copy what they are given before returning to the producer, so one constant serves all. */
const LAST = new WireWriter(8).u64(STDERR_LAST).take();

export class TunnelLogger implements Logger {
  verbosity: VerbosityLevel = Verbosity.Error;
  private working = false;
  private pending: Uint8Array[] = [];

  constructor(
    private readonly sink: ByteSink,
    private readonly minor: number,
  ) {}

  private enqueue(w: WireWriter): void {
    const b = w.take();
    if (this.working) this.sink.write(b);
    else this.pending.push(b);
  }

  log(level: VerbosityLevel, msg: string): void {
    if (level > this.verbosity) return;
    this.enqueue(new WireWriter().u64(STDERR_NEXT).string(msg + '\n'));
  }

  startActivity(type: number, text: string, fields: Field[] = [], parent = 0, level: VerbosityLevel = Verbosity.Info): number {
    if (nextId === 0) nextId = (process.pid % 0x10000) * 0x1_0000_0000 + 1;
    const id = nextId++;
    if (this.minor < 20) {
      if (text !== '') this.log(level, text + '...');
      return id;
    }
    const w = new WireWriter().u64(STDERR_START_ACTIVITY).u64(id).u64(level).u64(type).string(text);
    writeFields(w, fields);
    w.u64(parent);
    this.enqueue(w);
    return id;
  }

  stopActivity(id: number): void {
    if (this.minor < 20) return;
    this.enqueue(new WireWriter().u64(STDERR_STOP_ACTIVITY).u64(id));
  }

  result(id: number, type: number, fields: Field[]): void {
    if (this.minor < 20) return;
    const w = new WireWriter().u64(STDERR_RESULT).u64(id).u64(type);
    writeFields(w, fields);
    this.enqueue(w);
  }

  /** The request is parsed: flush held-back messages and stream from now on. */
  startWork(): void {
    this.working = true;
    for (const b of this.pending) this.sink.write(b);
    this.pending = [];
  }

  /** End the operation: STDERR_LAST, or STDERR_ERROR with `error`. */
  stopWork(error?: RemoteErrorInfo): void {
    this.working = false;
    if (this.pending.length > 0) this.pending = [];
    if (error === undefined) {
      this.sink.write(LAST);
      return;
    }
    const w = new WireWriter();
    writeErrorRecord(w.u64(STDERR_ERROR), error, this.minor);
    this.sink.write(w.take());
  }

  /** Write raw bytes (e.g. STDERR_READ requests) right now. */
  writeNow(b: Uint8Array): void {
    this.sink.write(b);
  }
}

function writeFields(w: WireWriter, fields: Field[]): void {
  w.u64(fields.length);
  for (const f of fields) {
    if (typeof f === 'number') w.u64(0).u64(Math.max(0, Math.floor(f)));
    else w.u64(1).string(f);
  }
}

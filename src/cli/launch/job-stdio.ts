/**
 * stdin/stdout/stderr of a job a warm child may serve among others
 * (child.ts): streams over fds 0-2, which hold the client's own files (dup2),
 * made fresh for each job and returned by `process.stdin/stdout/stderr`.
 *
 * Node's own stdio streams are made once per process, for whatever fds 0-2
 * were then (a pipe, a file or a terminal: each a different kind of stream),
 * so a process serving several clients cannot use them. These behave as
 * Node's do on Linux: writes are synchronous for every kind of fd (Node's are
 * for files, pipes and terminals alike), so nothing is left to drain when the
 * command returns; `isTTY` and `columns` describe the job's fds. stdin is
 * opened at its first read only, as Node's is (as a socket for a pipe, a tty
 * stream for a terminal, a file stream otherwise); a job that read it is not
 * reused, since a read may still be pending on it.
 */
import { createReadStream, fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { isatty, ReadStream as TtyReadStream } from 'node:tty';
import * as sys from './syscalls.js';

function isAgain(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EAGAIN';
}

/** Write all of `b` to `fd`, waiting for room when the fd is non-blocking (a pipe another process set so). */
export function writeFully(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length;) {
    try {
      off += writeSync(fd, b, off, b.length - off);
    } catch (e) {
      if (!isAgain(e)) throw e;
      sys.pollFor([fd], sys.POLLOUT, -1);
    }
  }
}

/** stdout or stderr of one job. */
export class FdWriter extends Writable {
  readonly isTTY: boolean;
  columns: number | undefined;
  rows: number | undefined;

  constructor(readonly fd: number) {
    super({ decodeStrings: true });
    this.isTTY = isatty(fd);
    if (this.isTTY) {
      const ws = sys.windowSize(fd);
      this.columns = ws?.columns;
      this.rows = ws?.rows;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    try {
      writeFully(this.fd, chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    try {
      for (const c of chunks) writeFully(this.fd, c.chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

/** The stream Node would make for fd 0: a socket for a pipe or socket, a tty stream for a terminal, else a file stream. */
function openStdin(): Readable {
  const st = fstatSync(0);
  if (st.isFIFO() || st.isSocket()) return new Socket({ fd: 0, readable: true, writable: false });
  if (isatty(0)) return new TtyReadStream(0);
  return createReadStream('', { fd: 0, autoClose: false });
}

/** stdin of one job: opened at the first read. */
export class LazyStdin extends Readable {
  private src: Readable | undefined;
  readonly isTTY: boolean;

  constructor() {
    super();
    this.isTTY = isatty(0);
  }

  get used(): boolean {
    return this.src !== undefined;
  }

  override _read(): void {
    if (this.src) {
      this.src.resume();
      return;
    }
    const src = (this.src = openStdin());
    src.on('data', (c: Buffer) => {
      if (!this.push(c)) src.pause();
    });
    src.on('end', () => this.push(null));
    src.on('error', (e) => this.destroy(e));
  }
}

export interface JobStdio {
  stdin: LazyStdin;
  stdout: FdWriter;
  stderr: FdWriter;
}

export function makeJobStdio(): JobStdio {
  return { stdin: new LazyStdin(), stdout: new FdWriter(1), stderr: new FdWriter(2) };
}

type StdioName = 'stdin' | 'stdout' | 'stderr';
const NAMES: StdioName[] = ['stdin', 'stdout', 'stderr'];
let saved: Map<StdioName, PropertyDescriptor> | undefined;
let current: JobStdio | undefined;

/**
 * Let `process.stdin/stdout/stderr` return `io` (undefined: streams over
 * fds 0-2 made for no job, which between jobs are /dev/null and the pool's log).
 */
export function useJobStdio(io: JobStdio | undefined): void {
  if (!saved) {
    saved = new Map();
    for (const n of NAMES) saved.set(n, Object.getOwnPropertyDescriptor(process, n)!);
    for (const n of NAMES) {
      Object.defineProperty(process, n, { configurable: true, enumerable: true, get: () => (current ??= makeJobStdio())[n] });
    }
  }
  current = io;
}

/** Node's own lazily made stdio again (for a job that has the process to itself). */
export function useNodeStdio(): void {
  if (!saved) return;
  for (const [n, d] of saved) Object.defineProperty(process, n, d);
  saved = undefined;
  current = undefined;
}

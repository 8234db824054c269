/**
 * `nix-store --dump PATH` (nix-store.cc `opDump`): the NAR of any path on stdout.
 *
 * When stdout is the process's fd 1, chunks are written synchronously from
 * the NAR writer's one reused buffer (no per-chunk allocation, no stream
 * queue); otherwise through the stream with back-pressure.
 */
import { writeSync } from 'node:fs';
import { NixError, CoreErrorCode } from '../../core/index.js';
import { dumpPath, dumpPathSync } from '../../store/index.js';
import { takeCommonFlags, usageError } from '../args.js';
import type { CliContext } from '../context.js';

/** Write with back-pressure so a 1 GiB NAR never queues up in memory. */
export async function writeAll(out: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}

// Made at first use: SharedArrayBuffer does not exist while a startup snapshot is built.
let pause: Int32Array | undefined;

/** writeSync to a possibly non-blocking fd: wait and retry on EAGAIN. */
export function writeFdFully(fd: number, chunk: Uint8Array): void {
  for (let off = 0; off < chunk.length; ) {
    try {
      off += writeSync(fd, chunk, off, chunk.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait((pause ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, 1);
    }
  }
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const rest = takeCommonFlags(args, ctx).rest.filter((a) => a !== '--');
  const flags = rest.filter((a) => a.startsWith('-'));
  const paths = rest.filter((a) => !a.startsWith('-'));
  if (flags.length !== 0 || paths.length !== 1) throw usageError('only one argument allowed');
  if (ctx.stdout === process.stdout) {
    try {
      for (const chunk of dumpPathSync(paths[0]!)) writeFdFully(1, chunk);
    } catch (e) {
      // The reader went away (`| head`): Nix's message for it.
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') throw new NixError(CoreErrorCode.E_IO, 'writing to file: Broken pipe');
      throw e;
    }
    return 0;
  }
  for await (const chunk of dumpPath(paths[0]!)) await writeAll(ctx.stdout, chunk);
  return 0;
}

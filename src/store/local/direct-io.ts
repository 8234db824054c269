/**
 * Writing large files with O_DIRECT, where that is measured to be faster
 * than going through the page cache (no Nix counterpart: Nix 2.8 always
 * writes through the page cache; the bytes and metadata are the same).
 *
 * Why: copying into the page cache is most of an add's CPU, and on some
 * machines it is slow: in a VM whose free memory is handed back to the host
 * (virtio free page reporting), every new page-cache page first faults on
 * the host; measured on such a Firecracker VM, buffered writes of a 256 MiB
 * tree ran at ~400 MB/s and O_DIRECT at ~1.9 GB/s with a tenth of the CPU.
 * On a machine with a slow disk it is the other way round. So nothing is
 * assumed: `WriteChooser` tries both on the first blocks of an add and keeps
 * whichever took less time per byte, trying again every `REPROBE_BYTES`.
 *
 * O_DIRECT needs the memory, the file offset and the length aligned to the
 * device's logical block size; blocks here are 4 KiB-aligned (aligned_alloc
 * through koffi, which the store already uses for flock) and written at
 * offsets that are multiples of their size; the tail of a file that is not
 * a whole number of 4 KiB blocks is written through the page cache.
 */
import { createRequire } from 'node:module';

/** Alignment of direct-IO blocks (any logical block size up to 4 KiB). */
export const DIRECT_ALIGN = 4096;

let alignedAlloc: ((align: number, size: number) => unknown) | undefined | null;
let view: ((ptr: unknown, len: number) => ArrayBuffer) | undefined;

/**
 * A `size`-byte buffer at a 4 KiB-aligned address, or undefined when the
 * FFI is not available (then nothing is written with O_DIRECT). The memory
 * is never freed: callers keep a small pool for the life of the process.
 */
export function allocAligned(size: number): Uint8Array | undefined {
  if (alignedAlloc === undefined) {
    try {
      const koffi = createRequire(import.meta.url)('koffi') as {
        load(lib: string): { func(sig: string): (...a: unknown[]) => unknown };
        view(ptr: unknown, len: number): ArrayBuffer;
      };
      alignedAlloc = koffi.load('libc.so.6').func('void *aligned_alloc(size_t, size_t)') as (a: number, s: number) => unknown;
      view = (p, n) => koffi.view(p, n);
    } catch {
      alignedAlloc = null;
    }
  }
  if (alignedAlloc === null) return undefined;
  const p = alignedAlloc(DIRECT_ALIGN, size);
  if (p === null) return undefined;
  return new Uint8Array(view!(p, size));
}

export type WriteMode = 'buffered' | 'direct';

/** Bytes of each mode measured before choosing. */
const PROBE_BYTES = 4 << 20;
/** After this many bytes written the chosen way, measure both again (conditions change: dirty-page throttling, load). */
const REPROBE_BYTES = 256 << 20;

/**
 * Picks the write mode for each block of an add from the measured time per
 * byte of completed writes of both modes.
 */
export class WriteChooser {
  private readonly submitted = { buffered: 0, direct: 0 };
  private readonly done = { buffered: 0, direct: 0 };
  private readonly ns = { buffered: 0, direct: 0 };
  private chosen: WriteMode | undefined;
  private sinceChoice = 0;
  /** False once O_DIRECT failed here (file system without it, alignment refused). */
  directOk = true;

  /** `forced`: always this mode (tests), direct still only where it works. */
  constructor(private readonly forced?: WriteMode) {}

  next(bytes: number): WriteMode {
    let m: WriteMode;
    if (!this.directOk) m = 'buffered';
    else if (this.forced !== undefined) m = this.forced;
    else if (this.chosen !== undefined) {
      m = this.chosen;
      this.sinceChoice += bytes;
      if (this.sinceChoice >= REPROBE_BYTES) this.reset();
    } else m = this.submitted.buffered <= this.submitted.direct ? 'buffered' : 'direct';
    this.submitted[m] += bytes;
    return m;
  }

  /** A write of `bytes` in mode `m` took `ns` nanoseconds. */
  record(m: WriteMode, bytes: number, ns: number): void {
    this.done[m] += bytes;
    this.ns[m] += ns;
    if (this.chosen === undefined && this.forced === undefined && this.done.buffered >= PROBE_BYTES && this.done.direct >= PROBE_BYTES) {
      this.chosen = this.ns.direct / this.done.direct < this.ns.buffered / this.done.buffered ? 'direct' : 'buffered';
      this.sinceChoice = 0;
    }
  }

  /** The mode chosen by measurement, if any yet. */
  get choice(): WriteMode | undefined {
    return this.chosen;
  }

  private reset(): void {
    this.chosen = undefined;
    this.sinceChoice = 0;
    for (const m of ['buffered', 'direct'] as const) {
      this.submitted[m] = this.done[m] = this.ns[m] = 0;
    }
  }
}

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
 * to whichever takes less time per byte, measuring the other now and then.
 *
 * O_DIRECT needs the memory, the file offset and the length aligned to the
 * device's logical block size; blocks here are 4 KiB-aligned (aligned_alloc
 * through koffi, which the store already uses for flock) and written at
 * offsets that are multiples of their size; the tail of a file that is not
 * a whole number of 4 KiB blocks is written through the page cache.
 */
import { loadLibc } from '../libc.js';

/** Alignment of direct-IO blocks (any logical block size up to 4 KiB). */
export const DIRECT_ALIGN = 4096;

/** False once libc could not be loaded (then nothing is written with O_DIRECT). */
let ffiOk = true;

/**
 * A `size`-byte buffer at a 4 KiB-aligned address, or undefined when the
 * FFI is not available (then nothing is written with O_DIRECT). The memory
 * is never freed: callers keep a small pool for the life of the process.
 */
export function allocAligned(size: number): Uint8Array | undefined {
  if (!ffiOk) return undefined;
  let libc: ReturnType<typeof loadLibc>;
  try {
    libc = loadLibc();
  } catch {
    ffiOk = false;
    return undefined;
  }
  const p = libc.alignedAlloc(DIRECT_ALIGN, size);
  if (p === null) return undefined;
  return new Uint8Array(libc.view(p, size));
}

export type WriteMode = 'buffered' | 'direct';

/** A mode's estimate is the least time per byte among its last this many writes. */
const WINDOW = 6;
/**
 * O_DIRECT is kept while it takes less than this many times as long per
 * byte: its time is mostly waiting for the device, while a buffered write's
 * time is CPU (the copy into new page-cache pages) taken from the hashing
 * and other writes; and the writes run beside the hashing, so a direct
 * write only slows the add once the device falls behind the hash (~2 GB/s).
 * Measured on this project's 2-core VM: single writes of both modes took
 * about the same time, yet an add with only O_DIRECT took half as long as
 * one with half its blocks buffered, and with a weight of 2 a fifth to a
 * third of the blocks still went buffered. A SATA SSD or a spinning disk
 * (O_DIRECT 7 to 30 times slower per byte) stays buffered.
 */
const DIRECT_WEIGHT = 3;
/** Writes smaller than this are not measured. */
const MEASURED_MIN = 64 * 1024;
/** Fewest and most blocks between two written the other way (to keep its estimate current). */
const EXPLORE_MIN = 16;
const EXPLORE_MAX = 512;

/**
 * Picks the write mode for each block of an add from the time per byte of
 * recent completed writes of both modes: the least of the last `WINDOW`,
 * since waiting for a CPU on a busy machine only ever adds to a write's
 * time (measured: single 1 MiB writes of either mode took 5 to 150 ns per
 * byte at load 5; their minima were steady). Until both have a measurement
 * the modes alternate; after that the cheaper one is used, and now and then
 * a block goes the other way so a change of conditions (dirty-page
 * throttling, another process's load, the host's disk) is noticed. That
 * happens less often the more the two differ, so a mode that is much worse
 * (e.g. O_DIRECT to a spinning disk) is rarely paid for.
 */
export class WriteChooser {
  private readonly recent: Record<WriteMode, number[]> = { buffered: [], direct: [] };
  private sinceExplore = 0;
  private alternate = 0;
  /** False once O_DIRECT failed here (file system without it, alignment refused). */
  directOk = true;
  /** Bytes written each way (for tests and measurements). */
  readonly written: Record<WriteMode, number> = { buffered: 0, direct: 0 };

  /** `forced`: always this mode (tests), direct still only where it works. */
  constructor(private readonly forced?: WriteMode) {}

  /** The cheaper mode as measured so far, if both are measured. */
  get choice(): WriteMode | undefined {
    const b = this.estimate('buffered');
    const d = this.estimate('direct');
    return b === undefined || d === undefined ? undefined : d < b * DIRECT_WEIGHT ? 'direct' : 'buffered';
  }

  private estimate(m: WriteMode): number | undefined {
    const r = this.recent[m];
    return r.length === 0 ? undefined : Math.min(...r);
  }

  next(): WriteMode {
    if (!this.directOk) return 'buffered';
    if (this.forced !== undefined) return this.forced;
    const best = this.choice;
    if (best === undefined) return this.alternate++ % 2 === 0 ? 'buffered' : 'direct';
    const b = this.estimate('buffered')!;
    const d = this.estimate('direct')!;
    const ratio = best === 'direct' ? (b * DIRECT_WEIGHT) / d : d / (b * DIRECT_WEIGHT);
    const every = Math.min(EXPLORE_MAX, Math.max(EXPLORE_MIN, Math.round(EXPLORE_MIN * ratio)));
    if (++this.sinceExplore < every) return best;
    this.sinceExplore = 0;
    return best === 'direct' ? 'buffered' : 'direct';
  }

  /** A write of `bytes` in mode `m` took `ns` nanoseconds. */
  record(m: WriteMode, bytes: number, ns: number): void {
    if (bytes <= 0) return;
    this.written[m] += bytes;
    // Small writes (a file's last partial 4 KiB) are mostly fixed cost: they say little per byte.
    if (bytes < MEASURED_MIN) return;
    const r = this.recent[m];
    r.push(ns / bytes);
    if (r.length > WINDOW) r.shift();
  }
}

/**
 * The few libc calls Node lacks that the store needs: flock(2) for Nix's
 * lock files, linkat(2) to give an `O_TMPFILE` file its name, and
 * aligned_alloc(3) for O_DIRECT buffers (local/direct-io.ts). Called
 * through koffi (an FFI with prebuilt binaries, also used for SO_PEERCRED),
 * loaded on first use (~10 ms).
 */
import { createRequire } from 'node:module';
import { NixError } from '../core/index.js';
import { StoreErrorCode } from './errors.js';

interface Libc {
  flock: (fd: number, op: number) => number;
  linkat: (olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number;
  errno: () => number;
  /** A pointer (null when out of memory), readable through `view`. */
  alignedAlloc: (align: number, size: number) => unknown;
  view: (ptr: unknown, len: number) => ArrayBuffer;
}

let libc: Libc | undefined;

export function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(lib: string): { func(sig: string): (...a: unknown[]) => number };
      errno(): number;
      view(ptr: unknown, len: number): ArrayBuffer;
    };
    const lib = koffi.load('libc.so.6');
    libc = {
      flock: lib.func('int flock(int, int)') as Libc['flock'],
      linkat: lib.func('int linkat(int, const char *, int, const char *, int)') as Libc['linkat'],
      errno: () => koffi.errno(),
      alignedAlloc: lib.func('void *aligned_alloc(size_t, size_t)') as unknown as Libc['alignedAlloc'],
      view: (ptr, len) => koffi.view(ptr, len),
    };
  } catch (e) {
    throw new NixError(StoreErrorCode.E_LOCK, `cannot load libc through koffi: ${(e as Error).message}`, { cause: e });
  }
  return libc;
}

export const EINTR = 4;
export const EWOULDBLOCK = 11;
export const EEXIST = 17;
export const AT_FDCWD = -100;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_EMPTY_PATH = 0x1000;
export const EPERM = 1;
/** `O_TMPFILE | O_WRONLY` (Linux x86_64/aarch64: __O_TMPFILE | O_DIRECTORY | O_WRONLY). */
export const O_TMPFILE_WRONLY = 0o20200000 | 0o1;

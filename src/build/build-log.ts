/**
 * Build logs on disk, as Nix 2.8 keeps them (LocalFSStore `getBuildLog`,
 * `addBuildLog`, DerivationGoal `openLogFile`):
 * `<logDir>/drvs/<first 2 chars of the drv base name>/<rest>[.bz2]`, bzip2
 * compressed when `compress-build-log` is true (the default). The reference
 * `nix log` / `nix-store -l` read what we write and vice versa. The log holds
 * the builder's raw bytes, not lines.
 *
 * Compression runs in a `bzip2` child fed as the build goes (there is no bzip2
 * in Node's zlib); without a `bzip2` binary the log is stored uncompressed,
 * which Nix also reads.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, closeSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePath } from '../formats/index.js';
import { nativeSpawn } from './builder/posix-spawn.js';
import { runViaHelper } from './builder/spawn-helper.js';

/**
 * What `bzip2` (and libbz2 at Nix's level 9) makes of no input: the header and
 * the end-of-stream marker with a zero CRC. Trivial builders log nothing, and
 * writing these bytes costs less than starting bzip2 for them.
 */
const EMPTY_BZ2 = Uint8Array.of(0x42, 0x5a, 0x68, 0x39, 0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0, 0, 0, 0);

let bzip2Path: string | null | undefined;

function findBzip2(): string | null {
  if (bzip2Path !== undefined) return bzip2Path;
  bzip2Path = null;
  for (const dir of ['/usr/bin', '/bin', ...(process.env.PATH ?? '').split(':')]) {
    if (dir && existsSync(join(dir, 'bzip2'))) {
      bzip2Path = join(dir, 'bzip2');
      break;
    }
  }
  return bzip2Path;
}

/** The two places Nix looks, newest layout first. */
function logPaths(logDir: string, drvBase: string): string[] {
  return [join(logDir, 'drvs', drvBase.slice(0, 2), drvBase.slice(2)), join(logDir, 'drvs', drvBase)];
}

/** Read a stored log (plain or .bz2); undefined when there is none. */
export function readBuildLog(logDir: string, drvPath: StorePath): Uint8Array | undefined {
  for (const p of logPaths(logDir, drvPath.baseName)) {
    if (existsSync(p)) return new Uint8Array(readFileSync(p));
    if (existsSync(p + '.bz2')) {
      const bz = findBzip2();
      if (bz === null) continue;
      const r = spawnSync(bz, ['-dc'], { input: readFileSync(p + '.bz2'), maxBuffer: 1 << 30 });
      if (r.status === 0) return new Uint8Array(r.stdout);
    }
  }
  return undefined;
}

/** `addBuildLog`: store a complete log (compressed), atomically. */
export function writeBuildLog(logDir: string, drvPath: StorePath, log: Uint8Array, compress = true): void {
  const [target] = logPaths(logDir, drvPath.baseName) as [string];
  mkdirSync(join(target, '..'), { recursive: true });
  const bz = compress ? findBzip2() : null;
  let data: Uint8Array = log;
  let dest = target;
  if (bz !== null) {
    const r = spawnSync(bz, ['-c'], { input: log, maxBuffer: 1 << 30 });
    if (r.status === 0) {
      data = r.stdout;
      dest = target + '.bz2';
    }
  }
  const tmp = `${dest}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, dest);
}

/** Log dirs made by this process. */
const madeDirs = new Set<string>();

/** A raw fd (not a FileHandle, which would close itself again on GC); the dir is made once per process, or again when it went away. */
function openLog(target: string, dir: string): number {
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  try {
    return openSync(target, 'w', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dir, { recursive: true });
    return openSync(target, 'w', 0o644);
  }
}

/**
 * A log file being written while the builder runs: plain bytes at Nix's path;
 * `compressLogs` later turns a batch of them into `.bz2` with ONE `bzip2`
 * process (a process per build would cost more than many builds). Readers (ours
 * and Nix's) accept either form, and a plain log wins over an older `.bz2`.
 */
export class BuildLogSink {
  private fd: number | undefined;
  /** Output that arrived before `open`. */
  private pending: Uint8Array[] | undefined = [];
  private bytes = 0;
  readonly path: string;
  /** Turn into `.bz2` once closed (`compress-build-log`). */
  compress = false;
  /**
   * Set by `close` when it compressed the log itself (an empty one: no bzip2
   * needed); settles when the `.bz2` has its name. Otherwise the caller hands
   * the plain log to `compressLogs`.
   */
  compressed: Promise<void> | undefined;

  constructor(logDir: string, drvPath: StorePath) {
    [this.path] = logPaths(logDir, drvPath.baseName) as [string];
  }

  /**
   * Make the dir and the file; throws when they cannot be made. The caller
   * opens it just after starting the builder, which runs meanwhile: the
   * directory operations (in a fresh store a recursive mkdir, which waits for
   * the file system's journal after the database's fsyncs) overlap with the
   * builder instead of delaying its start, and no thread-pool round trip
   * (each waits for a pool thread to be scheduled) is needed.
   */
  open(): void {
    const pending = this.pending ?? [];
    this.pending = undefined;
    this.fd = openLog(this.path, join(this.path, '..'));
    for (const c of pending) writeFileSync(this.fd, c);
  }

  /** Output of a builder whose log could not be opened is dropped (that build is being stopped). */
  write(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.fd !== undefined) writeFileSync(this.fd, chunk);
    else this.pending?.push(Buffer.from(chunk));
  }

  async close(): Promise<void> {
    this.pending = undefined;
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    if (this.compress && this.bytes === 0) {
      // What bzip2 would make of it, written into the open file, which then takes the .bz2 name.
      writeFileSync(fd, EMPTY_BZ2);
      closeSync(fd);
      try {
        renameSync(this.path, this.path + '.bz2');
      } catch {
        // the plain log stays, which readers accept
      }
      this.compressed = Promise.resolve();
      return;
    }
    closeSync(fd);
  }
}

/** Compress finished plain logs to `<log>.bz2` (replacing them), in one `bzip2` run. */
export function compressLogs(paths: readonly string[]): Promise<void> {
  const bz = findBzip2();
  if (bz === null) return Promise.resolve();
  const todo = paths.filter((p) => existsSync(p));
  if (todo.length === 0) return Promise.resolve();
  const argv = [bz, '-f', '-q', '--', ...todo];
  const native = nativeSpawn({ file: bz, argv, env: [], cwd: '/', output: 'ignore' });
  if (native?.ok) return native.exited.then(() => undefined);
  const viaHelper = runViaHelper(bz, argv.slice(1), '/');
  if (viaHelper !== undefined) return viaHelper.then(() => undefined);
  return new Promise((resolve) => {
    const child = spawn(bz, ['-f', '-q', '--', ...todo], { stdio: 'ignore' });
    child.on('close', () => resolve());
    child.on('error', () => resolve());
  });
}

/**
 * `EvalIO`: everything the evaluator does to the outside world (files, the
 * store, the environment, the clock), like Tvix's `EvalIO`. The evaluator
 * never imports `store`; glue implements this over a real `Store`.
 *
 * The interface is SYNCHRONOUS because evaluation is (a lazy value is forced
 * deep inside JS recursion). glue runs the evaluator on a worker thread (it
 * needs the big stack anyway) and bridges store calls to the main thread
 * with `Atomics.wait` + `receiveMessageOnPort`.
 *
 * Paths are byte strings (one JS char per byte), contents are `Uint8Array`.
 * Failures are thrown as `EvalError` (use `ioError`) with Nix's wording, e.g.
 * `getting status of '/x': No such file or directory`.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { EvalError, EvalErrorCode } from './errors.js';

export type FileType = 'regular' | 'directory' | 'symlink' | 'unknown';

/** `builtins.path` / `filterSource` / `"${./p}"` copy request. */
export interface CopyToStoreOptions {
  /** Source path (absolute byte string). */
  readonly path: string;
  /** Store path name (default: basename of `path`). */
  readonly name: string;
  /** `true` = NAR serialisation (recursive), `false` = flat file. */
  readonly recursive: boolean;
  /** Optional filter (`filterSource`/`builtins.path { filter }`): called with
   *  each path below `path` and its type; `false` excludes it. */
  readonly filter?: (path: string, type: FileType) => boolean;
  /** Expected NAR `sha256`, base16 (parsed from any form) for `builtins.path { sha256 }`. */
  readonly expectedSha256?: string;
}

export interface EvalIO {
  /** e.g. `/nix/store` */
  readonly storeDir: string;
  currentSystem(): string;
  /** Seconds since the epoch, fixed for one evaluation. */
  currentTime(): number;
  getEnv(name: string): string | undefined;

  readFile(path: string): Uint8Array;
  pathExists(path: string): boolean;
  /** lstat-like: type of `path` itself, or `undefined` if it does not exist. */
  fileType(path: string): FileType | undefined;
  /** Directory entries (name → type, symlinks not followed). */
  readDir(path: string): Map<string, FileType>;
  /** Resolve symlinks (for `import` of a path that is a symlinked dir). */
  realPath(path: string): string;
  /** Target of a symlink (as stored). */
  readLink(path: string): string;

  /** Copy (or, in read-only mode, only hash) a path into the store; returns
   *  the store path. Called for `"${./p}"`, `builtins.path`, `filterSource`. */
  copyPathToStore(opts: CopyToStoreOptions): string;
  /** `toFile` and `.drv` writing: a text store path with references. */
  addTextToStore(name: string, text: Uint8Array, references: readonly string[]): string;
  /** Is this store path valid (exists in the store)? `storePath` builtin. */
  isValidPath(storePath: string): boolean;
  /** Make the given context available on disk before reading a path that has
   *  it (import-from-derivation). Elements are in context encoding
   *  (`/nix/store/x`, `=…drv`, `!out!…drv`). Read-only IO may throw. Returns
   *  the derivation outputs it made available (pure mode lets them be read). */
  realiseContext(context: readonly string[]): readonly string[] | void;
  /** Optional: write a trace/warning line to stderr (`trace: …`). */
  trace?(line: string): void;
}

/** 2.8's system errors carry no position (not even the calling builtin's). */
export function ioError(message: string): EvalError {
  return new EvalError(EvalErrorCode.E_IO, message, null);
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'ENOTDIR': return 'Not a directory';
    case 'EISDIR': return 'Is a directory';
    case 'ELOOP': return 'Too many levels of symbolic links';
    default: return (e as Error)?.message ?? String(e);
  }
}

const toFs = (p: string) => Buffer.from(p, 'latin1');

function kindOf(st: fs.Stats | fs.Dirent): FileType {
  if (st.isFile()) return 'regular';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'unknown';
}

/**
 * IO over the plain filesystem with a *computing* store: store operations
 * only compute paths through the supplied hooks (tests, `--eval` without a
 * store). glue provides the real implementation.
 */
export class PlainFsIO implements EvalIO {
  readonly storeDir: string;
  private readonly time = Math.floor(Date.now() / 1000);

  constructor(
    private readonly opts: {
      storeDir?: string;
      system?: string;
      env?: Record<string, string | undefined>;
      copyPathToStore?: (o: CopyToStoreOptions) => string;
      addTextToStore?: (name: string, text: Uint8Array, refs: readonly string[]) => string;
    } = {},
  ) {
    this.storeDir = opts.storeDir ?? '/nix/store';
  }

  currentSystem(): string {
    return this.opts.system ?? 'x86_64-linux';
  }
  currentTime(): number {
    return this.time;
  }
  getEnv(name: string): string | undefined {
    return (this.opts.env ?? process.env)[name];
  }
  readFile(path: string): Uint8Array {
    try {
      return new Uint8Array(fs.readFileSync(toFs(path)));
    } catch (e) {
      // open(2) succeeds on a directory in 2.8; its read(2) fails.
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw ioError(`reading from file: ${errnoText(e)}`);
      throw ioError(`opening file '${path}': ${errnoText(e)}`);
    }
  }
  pathExists(path: string): boolean {
    return fs.existsSync(toFs(path));
  }
  fileType(path: string): FileType | undefined {
    try {
      return kindOf(fs.lstatSync(toFs(path)));
    } catch {
      return undefined;
    }
  }
  readDir(path: string): Map<string, FileType> {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(toFs(path), { withFileTypes: true, encoding: 'buffer' }) as unknown as fs.Dirent[];
    } catch (e) {
      throw ioError(`opening directory '${path}': ${errnoText(e)}`);
    }
    const m = new Map<string, FileType>();
    for (const d of ents) m.set(Buffer.from(d.name as unknown as Buffer).toString('latin1'), kindOf(d));
    return m;
  }
  realPath(path: string): string {
    try {
      return (fs.realpathSync(toFs(path), { encoding: 'buffer' }) as Buffer).toString('latin1');
    } catch (e) {
      throw ioError(`getting status of '${path}': ${errnoText(e)}`);
    }
  }
  readLink(path: string): string {
    try {
      return (fs.readlinkSync(toFs(path), { encoding: 'buffer' }) as Buffer).toString('latin1');
    } catch (e) {
      throw ioError(`reading symbolic link '${path}': ${errnoText(e)}`);
    }
  }
  copyPathToStore(o: CopyToStoreOptions): string {
    if (this.opts.copyPathToStore) return this.opts.copyPathToStore(o);
    throw ioError(`cannot copy '${o.path}' to the store: no store available`);
  }
  addTextToStore(name: string, text: Uint8Array, refs: readonly string[]): string {
    if (this.opts.addTextToStore) return this.opts.addTextToStore(name, text, refs);
    throw ioError(`cannot add '${name}' to the store: no store available`);
  }
  isValidPath(storePath: string): boolean {
    return this.pathExists(storePath);
  }
  realiseContext(): void {}
  trace(line: string): void {
    process.stderr.write(line + '\n');
  }
}

/** In-memory files for unit tests: path → contents (string = UTF-8 text). */
export class MemoryIO extends PlainFsIO {
  constructor(
    private readonly files: Map<string, Uint8Array | string>,
    opts: ConstructorParameters<typeof PlainFsIO>[0] = {},
  ) {
    super(opts);
  }
  override readFile(path: string): Uint8Array {
    const f = this.files.get(path);
    if (f === undefined) throw ioError(`opening file '${path}': No such file or directory`);
    return typeof f === 'string' ? new TextEncoder().encode(f) : f;
  }
  override pathExists(path: string): boolean {
    return this.fileType(path) !== undefined;
  }
  override fileType(path: string): FileType | undefined {
    if (this.files.has(path)) return 'regular';
    const prefix = path.endsWith('/') ? path : path + '/';
    for (const k of this.files.keys()) if (k.startsWith(prefix)) return 'directory';
    return undefined;
  }
  override readDir(path: string): Map<string, FileType> {
    const prefix = path.endsWith('/') ? path : path + '/';
    const m = new Map<string, FileType>();
    for (const k of this.files.keys()) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      const i = rest.indexOf('/');
      m.set(i < 0 ? rest : rest.slice(0, i), i < 0 ? 'regular' : 'directory');
    }
    return m;
  }
  override realPath(path: string): string {
    return nodePath.posix.normalize(path);
  }
}

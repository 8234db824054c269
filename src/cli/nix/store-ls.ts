/**
 * `nix store ls PATH` and `nix nar ls NAR PATH` (nix/ls.cc `MixLs`, Nix 2.8):
 * list a directory inside a store path or a NAR file, with `-R`
 * (recursive), `-l` (long), `-d` (the directory itself) and `--json`
 * (nar-info `listNar` JSON, compact, no trailing newline; `narOffset` only
 * for NAR files, as 2.8's local accessor has none).
 *
 * Also exports the file-system accessors `nix store cat`/`nar cat` share.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, openSync, readSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { NixError, CoreErrorCode } from '../../core/index.js';
import { narListing, type NarListingNode } from '../../formats/index.js';
import { LocalStore } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { withAnyStore, type StoreView } from '../nix-store/store-view.js';
import { nixUsage } from './store-common.js';

export type FileType = 'regular' | 'directory' | 'symlink' | 'missing';
export interface FileStat {
  type: FileType;
  size: number;
  executable: boolean;
  narOffset?: number;
}

/** Nix's `FSAccessor`: paths are absolute store paths (store) or `/…` inside the NAR. */
export interface FSAccessor {
  stat(path: string): FileStat;
  /** Sorted byte-wise. */
  readDirectory(path: string): string[];
  readLink(path: string): string;
  readFile(path: string): Uint8Array;
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function notExist(path: string): NixError {
  return new NixError(CoreErrorCode.E_IO, `path '${path}' does not exist`);
}

/** Store paths through a `LocalStore` (Nix's `LocalFSAccessor`): the path must be in a valid store path. */
export function storeAccessor(v: StoreView): FSAccessor | undefined {
  const store = v.store;
  if (!(store instanceof LocalStore)) return undefined;
  const check = (path: string): void => {
    if (!v.storeDir.isInStore(path)) throw new NixError('E0201', `path '${path}' is not in the Nix store`);
    const [sp] = v.storeDir.toStorePath(path);
    if (!store.db.isValid(v.print(sp))) throw new NixError('E0201', `path '${v.print(sp)}' is not a valid store path`);
  };
  return {
    stat(path) {
      check(path);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        return { type: 'missing', size: 0, executable: false };
      }
      if (st.isFile()) return { type: 'regular', size: st.size, executable: (st.mode & 0o100) !== 0 };
      if (st.isDirectory()) return { type: 'directory', size: 0, executable: false };
      if (st.isSymbolicLink()) return { type: 'symlink', size: 0, executable: false };
      throw new NixError('E0201', `file '${path}' has unsupported type`);
    },
    readDirectory: (path) => (check(path), readdirSync(path).sort(byBytes)),
    readLink: (path) => (check(path), readlinkSync(path)),
    readFile: (path) => (check(path), readFileSync(path)),
  };
}

/** A NAR in memory or in a file (Nix's `NarAccessor`); `prefix` is what paths start with (the store path, or ''). */
export async function narAccessor(nar: Uint8Array | string, prefix = ''): Promise<FSAccessor> {
  const src = typeof nar === 'string' ? readFileSync(nar) : nar;
  const { root } = await narListing([src]);
  const find = (path: string): NarListingNode | undefined => {
    if (!path.startsWith(prefix)) return undefined;
    let n: NarListingNode | undefined = root;
    for (const c of path.slice(prefix.length).split('/')) {
      if (c === '') continue;
      if (n?.type !== 'directory') return undefined;
      n = n.entries.get(c);
    }
    return n;
  };
  const must = (path: string): NarListingNode => {
    const n = find(path);
    if (n === undefined) throw notExist(path);
    return n;
  };
  return {
    stat(path) {
      const n = find(path);
      if (n === undefined) return { type: 'missing', size: 0, executable: false };
      if (n.type === 'regular') return { type: 'regular', size: n.size, executable: n.executable === true, narOffset: n.narOffset };
      return { type: n.type, size: 0, executable: false };
    },
    readDirectory(path) {
      const n = must(path);
      if (n.type !== 'directory') throw new NixError(CoreErrorCode.E_IO, `path '${path}' inside NAR file is not a directory`);
      return [...n.entries.keys()].sort(byBytes);
    },
    readLink(path) {
      const n = must(path);
      if (n.type !== 'symlink') throw new NixError(CoreErrorCode.E_IO, `path '${path}' inside NAR file is not a symlink`);
      return n.target;
    },
    readFile(path) {
      const n = must(path);
      if (n.type !== 'regular') throw new NixError(CoreErrorCode.E_IO, `path '${path}' inside NAR file is not a regular file`);
      return src.subarray(n.narOffset, n.narOffset + n.size);
    },
  };
}

/** The accessor and absolute path for `nix store …` (local files, or the NAR of a remote store's path). */
export async function openStorePath(v: StoreView, arg: string): Promise<{ acc: FSAccessor; path: string }> {
  const path = resolve(arg);
  const local = storeAccessor(v);
  if (local !== undefined) return { acc: local, path };
  if (!v.storeDir.isInStore(path)) throw new NixError('E0201', `path '${path}' is not in the Nix store`);
  const [sp] = v.storeDir.toStorePath(path);
  if ((await v.tryInfo(sp)) === undefined) throw new NixError('E0201', `path '${v.print(sp)}' is not a valid store path`);
  const chunks: Uint8Array[] = [];
  for await (const c of v.store.narFromPath(sp)) chunks.push(c.slice());
  return { acc: await narAccessor(Buffer.concat(chunks), v.print(sp)), path };
}

/** Read a whole NAR file (`nix nar …`). */
export function readNarFile(file: string): Uint8Array {
  try {
    const fd = openSync(file, 'r');
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const b = Buffer.allocUnsafe(1 << 20);
        const n = readSync(fd, b, 0, b.length, null);
        if (n === 0) break;
        chunks.push(b.subarray(0, n));
      }
      return Buffer.concat(chunks);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new NixError(CoreErrorCode.E_IO, `opening file '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
  }
}

interface LsOpts {
  recursive: boolean;
  long: boolean;
  directory: boolean;
  json: boolean;
}

function listText(acc: FSAccessor, path: string, o: LsOpts, out: string[]): void {
  const showFile = (cur: string, rel: string): void => {
    const st = acc.stat(cur);
    if (o.long) {
      const tp = st.type === 'regular' ? (st.executable ? '-r-xr-xr-x' : '-r--r--r--') : st.type === 'symlink' ? 'lrwxrwxrwx' : 'dr-xr-xr-x';
      let line = `${tp} ${String(st.size).padStart(20)} ${rel}`;
      if (st.type === 'symlink') line += ` -> ${acc.readLink(cur)}`;
      out.push(line + '\n');
    } else out.push(rel + '\n');
    if (o.recursive && st.type === 'directory') doPath(st, cur, rel, false);
  };
  const doPath = (st: FileStat, cur: string, rel: string, showDirectory: boolean): void => {
    if (st.type === 'directory' && !showDirectory) {
      for (const name of acc.readDirectory(cur)) showFile(`${cur}/${name}`, `${rel}/${name}`);
    } else showFile(cur, rel);
  };
  const st = acc.stat(path);
  if (st.type === 'missing') throw notExist(path);
  doPath(st, path, st.type === 'directory' ? '.' : path.slice(path.lastIndexOf('/') + 1), o.directory);
}

function jsonString(s: string): string {
  return JSON.stringify(s);
}

/** 2.8's `listNar` JSON: entries are `{}` unless recursive. */
function listJson(acc: FSAccessor, path: string, recurse: boolean): string {
  const st = acc.stat(path);
  switch (st.type) {
    case 'regular':
      return `{"type":"regular","size":${st.size}${st.executable ? ',"executable":true' : ''}${st.narOffset ? `,"narOffset":${st.narOffset}` : ''}}`;
    case 'symlink':
      return `{"type":"symlink","target":${jsonString(acc.readLink(path))}}`;
    case 'directory': {
      const es = acc.readDirectory(path).map((n) => `${jsonString(n)}:${recurse ? listJson(acc, `${path}/${n}`, true) : '{}'}`);
      return `{"type":"directory","entries":{${es.join(',')}}}`;
    }
    default:
      throw new NixError(CoreErrorCode.E_IO, `path '${path}' does not exist in NAR`);
  }
}

function parseLs(rest: string[], positional: number): { o: LsOpts; args: string[] } {
  const o: LsOpts = { recursive: false, long: false, directory: false, json: false };
  const args: string[] = [];
  for (const a of rest) {
    if (a === '--recursive' || a === '-R') o.recursive = true;
    else if (a === '--long' || a === '-l') o.long = true;
    else if (a === '--directory' || a === '-d') o.directory = true;
    else if (a === '--json') o.json = true;
    else if (/^-[RldR]+$/.test(a)) {
      for (const c of a.slice(1)) {
        if (c === 'R') o.recursive = true;
        else if (c === 'l') o.long = true;
        else o.directory = true;
      }
    } else if (a.startsWith('-') && a !== '-') throw nixUsage(`unrecognised flag '${a}'`);
    else args.push(a);
  }
  if (args.length < positional) throw nixUsage('more arguments are required');
  if (args.length > positional) throw nixUsage(`unexpected argument '${args[positional]}'`);
  return { o, args };
}

function list(acc: FSAccessor, path: string, o: LsOpts, ctx: CliContext): void {
  if (o.json) {
    if (acc.stat(path).type === 'missing') {
      // 2.8 has opened the JSON object before it finds out.
      ctx.stdout.write('{}');
      throw new NixError(CoreErrorCode.E_IO, `path '${path}' does not exist in NAR`);
    }
    ctx.stdout.write(listJson(acc, path, o.recursive));
    return;
  }
  const out: string[] = [];
  listText(acc, path, o, out);
  ctx.stdout.write(out.join(''));
}

export async function run(argsIn: string[], ctx: CliContext): Promise<number> {
  const nar = argsIn[0] === 'nar';
  const { rest } = takeCommonFlags(argsIn.slice(2), ctx);
  if (nar) {
    const { o, args } = parseLs(rest, 2);
    const acc = await narAccessor(readNarFile(args[0]!));
    list(acc, args[1] === '/' ? '' : args[1]!, o, ctx);
    return 0;
  }
  const { o, args } = parseLs(rest, 1);
  return withAnyStore(ctx, async (v) => {
    const { acc, path } = await openStorePath(v, args[0]!);
    list(acc, path, o, ctx);
    return 0;
  });
}

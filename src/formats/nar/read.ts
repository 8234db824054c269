/**
 * Strict streaming NAR parser (libutil/archive.cc `parseDump`, 2.8, made
 * stricter). It accepts only canonical archives: entries sorted and unique,
 * `executable` before `contents`, zero padding, names that are not empty,
 * `.`, `..`, and hold no `/` or NUL. 2.8's leniencies (unsorted entries,
 * `contents` before `executable`) are rejected. Memory stays bounded: file
 * contents are passed on in pieces as they arrive, tokens and names are
 * capped, and nesting uses an explicit stack instead of recursion. Parsing
 * stops right after the top node, so a NAR can sit inside a larger stream.
 */
import { NixError } from '../../core/index.js';
import { FormatsErrorCode } from '../errors.js';
import { ByteReader } from './reader.js';
import { NAR_MAGIC, compareNames } from './write.js';

/** Receives the tree as it is parsed. `path` is the list of names from the root (root = []). */
export interface NarVisitor {
  directory(path: readonly Uint8Array[]): void | Promise<void>;
  fileStart(path: readonly Uint8Array[], executable: boolean, size: number): void | Promise<void>;
  /** A piece of the current file; only valid during the call. */
  fileData(chunk: Uint8Array): void | Promise<void>;
  fileEnd(): void | Promise<void>;
  symlink(path: readonly Uint8Array[], target: Uint8Array): void | Promise<void>;
}

/** Longest tag or name accepted (NAME_MAX on Linux). */
export const MAX_NAME = 255;
/** Longest symlink target accepted (PATH_MAX - 1). */
export const MAX_TARGET = 4095;
/** Contents beyond this are an absurd length, not a file (2^53 - 1). */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

export function badArchive(msg: string): NixError {
  return new NixError(FormatsErrorCode.E_NAR_INVALID, `bad archive: ${msg}`);
}

const latin = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const show = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

class TokenReader {
  constructor(readonly r: ByteReader) {}

  async u64(): Promise<number> {
    const b = this.r.takeIfBuffered(8) ?? (await this.r.readExact(8));
    const lo = b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
    const hi = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24);
    if (hi >>> 0 > 0x1fffff) throw badArchive('absurd length in archive');
    return (hi >>> 0) * 0x100000000 + (lo >>> 0);
  }

  async padding(len: number): Promise<void> {
    const p = (8 - (len % 8)) % 8;
    if (p === 0) return;
    const b = this.r.takeIfBuffered(p) ?? (await this.r.readExact(p));
    for (let i = 0; i < p; i++) if (b[i] !== 0) throw badArchive('non-zero padding');
  }

  /** A length-prefixed string of at most `max` bytes (a copy). */
  async bytes(max: number, what: string): Promise<Uint8Array> {
    const n = await this.u64();
    if (n > max) throw badArchive(`${what} is too long (${n} bytes)`);
    const v = (this.r.takeIfBuffered(n) ?? (await this.r.readExact(n))).slice();
    await this.padding(n);
    return v;
  }

  async tag(): Promise<string> {
    return latin(await this.bytes(MAX_NAME, 'tag'));
  }

  async expect(want: string): Promise<void> {
    const got = await this.tag();
    if (got !== want) throw badArchive(`expected '${want}', got '${got}'`);
  }
}

function checkName(name: Uint8Array): void {
  const n = name.length;
  if (n === 0 || name.includes(0x2f) || name.includes(0) || (n === 1 && name[0] === 0x2e) || (n === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
    throw badArchive(`NAR contains invalid file name '${show(name)}'`);
  }
}

interface DirFrame {
  path: Uint8Array[];
  prev: Uint8Array | undefined;
}

/** Parse one NAR from `source`, driving `visitor`. Returns the reader (for any bytes after the NAR). */
export async function parseNar(source: ByteReader | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, visitor: NarVisitor): Promise<ByteReader> {
  const r = source instanceof ByteReader ? source : new ByteReader(source);
  const t = new TokenReader(r);
  let magic: string;
  try {
    magic = await t.tag();
  } catch {
    throw badArchive("input doesn't look like a Nix archive");
  }
  if (magic !== NAR_MAGIC) throw badArchive("input doesn't look like a Nix archive");
  const stack: DirFrame[] = [];
  await parseNode(t, visitor, [], stack);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const tag = await t.tag();
    if (tag === ')') {
      stack.pop();
      if (stack.length > 0) await t.expect(')'); // closes the entry holding this directory
      continue;
    }
    if (tag !== 'entry') throw badArchive(`expected 'entry' or ')', got '${tag}'`);
    await t.expect('(');
    await t.expect('name');
    const name = await t.bytes(MAX_NAME, 'file name');
    checkName(name);
    if (top.prev !== undefined && compareNames(top.prev, name) >= 0) {
      throw badArchive(compareNames(top.prev, name) === 0 ? `NAR contains duplicate entry '${show(name)}'` : 'NAR directory is not sorted');
    }
    top.prev = name;
    await t.expect('node');
    const isDir = await parseNode(t, visitor, [...top.path, name], stack);
    if (!isDir) await t.expect(')');
  }
  return r;
}

async function call(p: void | Promise<void>): Promise<void> {
  if (p !== undefined) await p;
}

/** Parse `( type … )`; a directory is left open on the stack. Returns whether it was a directory. */
async function parseNode(t: TokenReader, v: NarVisitor, path: Uint8Array[], stack: DirFrame[]): Promise<boolean> {
  await t.expect('(');
  await t.expect('type');
  const type = await t.tag();
  if (type === 'directory') {
    await call(v.directory(path));
    stack.push({ path, prev: undefined });
    return true;
  }
  if (type === 'symlink') {
    await t.expect('target');
    const target = await t.bytes(MAX_TARGET, 'symlink target');
    if (target.length === 0 || target.includes(0)) throw badArchive('invalid symlink target');
    await call(v.symlink(path, target));
  } else if (type === 'regular') {
    await parseRegular(t, v, path);
  } else {
    throw badArchive(`unknown file type '${type}'`);
  }
  await t.expect(')');
  return false;
}

async function parseRegular(t: TokenReader, v: NarVisitor, path: Uint8Array[]): Promise<void> {
  let tag = await t.tag();
  let executable = false;
  if (tag === 'executable') {
    const marker = await t.bytes(MAX_NAME, 'executable marker');
    if (marker.length !== 0) throw badArchive('executable marker has non-empty value');
    executable = true;
    tag = await t.tag();
  }
  if (tag !== 'contents') throw badArchive(`expected 'contents', got '${tag}'`);
  const size = await t.u64();
  if (size > MAX_SIZE) throw badArchive('absurd length in archive');
  await call(v.fileStart(path, executable, size));
  let left = size;
  while (left > 0) {
    const chunk = await t.r.readSome(Math.min(left, 1 << 20));
    await call(v.fileData(chunk));
    left -= chunk.length;
  }
  await t.padding(size);
  await call(v.fileEnd());
}

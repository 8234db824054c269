/**
 * `fetchurl`, `fetchTarball`, `fetchGit` for local sources (`file://` URLs
 * and plain paths), as Nix 2.8's libfetchers does them: the result is added
 * to the store (also in `--eval`, like 2.8), as a flat file named after the
 * URL's base name (`fetchurl`) or a recursive `source` tree (`fetchTarball`,
 * `fetchGit`). Remote URLs are refused (no network in tix's evaluator).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EvalError, EvalErrorCode, NixAttrs, NixPath, NixString, force, forceAttrs, forceStrNoCtx, mkInt,
  type BuiltinRegistry, type Lazy, type Pos, type Value,
} from '../eval/index.js';
import { Hash, hashBytes, parseHash, encodeBase32 } from '../formats/index.js';
import { dumpPathSync, hashFileSync } from './nar-sync.js';
import type { GlueIO } from './store-io.js';

function err(msg: string, pos?: Pos): EvalError {
  return new EvalError(EvalErrorCode.E_EVAL, msg, pos);
}

interface FetchArgs {
  url: string;
  name?: string;
  sha256?: string;
  rev?: string;
  ref?: string;
}

/** A URL argument: a string, or (fetchGit) a path, never copied to the store. */
function urlOf(v: Lazy, pos: Pos | undefined): string {
  const x = force(v);
  if (x instanceof NixPath) return x.path;
  return forceStrNoCtx(x, pos);
}

function fetchArgs(v: Lazy, pos: Pos | undefined, what: string): FetchArgs {
  const x = force(v);
  if (!(x instanceof NixAttrs)) return { url: urlOf(x, pos) };
  const get = (k: string) => (x.has(k) ? forceStrNoCtx(x.get(k)!, pos) : undefined);
  const url = x.has('url') ? urlOf(x.get('url')!, pos) : undefined;
  if (url === undefined) throw err(`'url' argument required`, pos);
  for (const k of x.keys()) {
    if (!['url', 'name', 'sha256', 'rev', 'ref', 'submodules', 'allRefs'].includes(k)) {
      throw err(`unsupported argument '${k}' to '${what}'`, pos);
    }
  }
  return { url, name: get('name'), sha256: get('sha256'), rev: get('rev'), ref: get('ref') };
}

/** 2.8's download failures (curl's texts) carry no position. */
function downloadError(url: string, why: string): EvalError {
  return new EvalError(EvalErrorCode.E_EVAL, `unable to download '${url}': ${why}`, null);
}

const CURL_READ_FILE = "Couldn't read a file:// file (37)";

/** A local path for a `file://` URL or an absolute path; else an error.
 *  Like curl: `%XX` escapes are decoded byte by byte (the path is a byte
 *  string), a malformed one stays as it is, and a decoded NUL is refused. */
function localPath(url: string, pos?: Pos): string {
  if (url.startsWith('file://')) {
    const path = url.slice(7).replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (path.includes('\0')) throw downloadError(url, 'URL using bad/illegal format or missing URL (3)');
    return path;
  }
  if (url.startsWith('/')) return url;
  throw err(`unable to download '${url}': tix fetches only local 'file://' URLs and paths`, pos);
}

function baseNameOfUrl(url: string): string {
  const noQuery = url.replace(/[?#].*$/, '');
  const i = noQuery.lastIndexOf('/');
  return i >= 0 ? noQuery.slice(i + 1) : noQuery;
}

function storeString(p: string): Value {
  return new NixString(p, new Set([p]));
}

function checkHash(expected: string | undefined, got: Uint8Array, url: string, pos?: Pos): void {
  if (expected === undefined || expected === '') return;
  let want: Hash;
  try {
    want = parseHash(expected, 'sha256');
  } catch (e) {
    throw err((e as Error).message, pos);
  }
  const g = new Hash('sha256', got);
  if (!want.equals(g)) {
    // 2.8 exits with 102 (hash mismatch) here, as for a failed fixed-output build.
    throw Object.assign(err(`hash mismatch in file downloaded from '${url}':\n  specified: sha256:${want.base32}\n  got:       sha256:${encodeBase32(got)}`, pos), { exitCode: 102 });
  }
}

function fetchurl(io: GlueIO, a: FetchArgs, pos?: Pos): Value {
  const file = localPath(a.url, pos);
  let f: { sha256: Uint8Array; bytes: Uint8Array };
  try {
    f = hashFileSync(file);
  } catch (e) {
    // curl reads a directory as an empty file.
    if ((e as NodeJS.ErrnoException).code !== 'EISDIR') throw downloadError(a.url, CURL_READ_FILE);
    f = { sha256: hashBytes('sha256', new Uint8Array(0)).digest, bytes: new Uint8Array(0) };
  }
  checkHash(a.sha256, f.sha256, a.url, pos);
  const name = a.name ?? baseNameOfUrl(a.url);
  const path = io.store.print(io.store.makeFixedOutputPath({ recursive: false, hash: new Hash('sha256', f.sha256), name }));
  if (io.bridge) io.bridge.addToStore(name, 'flat', f.bytes);
  io.notePending(path);
  return storeString(path);
}

/** Add a directory tree as a recursive `name` path. */
function addTree(io: GlueIO, dir: string, name: string, expected: string | undefined, url: string, pos?: Pos): string {
  const d = dumpPathSync(dir, { keepBytes: io.bridge !== undefined });
  checkHash(expected, d.sha256, url, pos);
  const path = io.store.print(io.store.makeFixedOutputPath({ recursive: true, hash: new Hash('sha256', d.sha256), name }));
  if (io.bridge) io.bridge.addToStore(name, 'recursive', d.nar!);
  io.notePending(path);
  return path;
}

function fetchTarball(io: GlueIO, a: FetchArgs, pos?: Pos): Value {
  const file = localPath(a.url, pos);
  if (!fs.existsSync(Buffer.from(file, 'latin1'))) throw downloadError(a.url, CURL_READ_FILE);
  const tmp = mkdtempSync(join(tmpdir(), 'tix-unpack-'));
  try {
    const r = spawnSync('tar', ['-xf', file, '-C', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw err(`unable to unpack '${a.url}': ${r.stderr?.toString().trim() ?? 'tar failed'}`, pos);
    const entries = fs.readdirSync(tmp);
    const root = entries.length === 1 && fs.statSync(join(tmp, entries[0]!)).isDirectory() ? join(tmp, entries[0]!) : tmp;
    return storeString(addTree(io, root, a.name ?? 'source', a.sha256, a.url, pos));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function git(args: string[], cwd: string, pos?: Pos): string {
  const r = spawnSync('git', args, { cwd, encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw err(`program 'git' failed: ${(r.stderr || '').trim()}`, pos);
  return r.stdout.trim();
}

function fetchGit(io: GlueIO, a: FetchArgs, pos?: Pos): Value {
  const repo = localPath(a.url, pos);
  const rev = a.rev ?? git(['rev-parse', a.ref ?? 'HEAD'], repo, pos);
  const tmp = mkdtempSync(join(tmpdir(), 'tix-git-'));
  try {
    const tar = spawnSync('git', ['archive', '--format=tar', rev], { cwd: repo, maxBuffer: 1 << 30 });
    if (tar.status !== 0) throw err(`program 'git' failed: ${tar.stderr.toString().trim()}`, pos);
    const un = spawnSync('tar', ['-xf', '-', '-C', tmp], { input: tar.stdout });
    if (un.status !== 0) throw err('unable to unpack git archive', pos);
    const outPath = addTree(io, tmp, a.name ?? 'source', undefined, a.url, pos);
    const revCount = Number(git(['rev-list', '--count', rev], repo, pos));
    const lastModified = Number(git(['log', '-1', '--format=%ct', rev], repo, pos));
    const d = new Date(lastModified * 1000);
    const p2 = (n: number) => String(n).padStart(2, '0');
    const lastModifiedDate = `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}`;
    const res = new Map<string, Value>();
    res.set('outPath', storeString(outPath));
    res.set('rev', rev);
    res.set('shortRev', rev.slice(0, 7));
    res.set('revCount', mkInt(BigInt(revCount)));
    res.set('lastModified', mkInt(BigInt(lastModified)));
    res.set('lastModifiedDate', lastModifiedDate);
    res.set('submodules', false);
    const nar = dumpPathSync(tmp);
    res.set('narHash', new Hash('sha256', nar.sha256).sri);
    return NixAttrs.fromMap(res);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function registerFetchers(r: BuiltinRegistry, io: GlueIO): void {
  r.add('fetchurl', 1, (args, pos) => fetchurl(io, fetchArgs(args[0]!, pos, 'fetchurl'), pos));
  r.add('fetchTarball', 1, (args, pos) => fetchTarball(io, fetchArgs(args[0]!, pos, 'fetchTarball'), pos));
  r.add('fetchGit', 1, (args, pos) => fetchGit(io, fetchArgs(args[0]!, pos, 'fetchGit'), pos));
  void forceAttrs;
}

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
  EvalError, EvalErrorCode, NixAttrs, NixPath, NixString, coerceToString, showType, force, forceStrNoCtx, mkInt, showPosParens, strOf,
  type BuiltinRegistry, type EvalState, type Lazy, type Pos, type Value,
} from '../eval/index.js';
import { Hash, hashBytes, parseHash, encodeBase32 } from '../formats/index.js';
import { dumpPathSync, hashFileSync } from './nar-sync.js';
import type { GlueIO } from './store-io.js';

function err(msg: string, pos?: Pos | null): EvalError {
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

/** 2.8 `fetch` (fetchurl, fetchTarball): a URL string, or a set of `url`,
 *  `sha256`, `name`, each checked at its attribute's position; in pure mode
 *  the hash of what is fetched is required. */
function fetchArgs(state: EvalState, v: Lazy, pos: Pos | undefined, what: string): FetchArgs {
  const x = force(v);
  const a: FetchArgs = x instanceof NixAttrs ? setFetchArgs(x, pos, what) : { url: urlOf(x, pos) };
  if (state.pureEval && (a.sha256 === undefined || a.sha256 === '')) {
    throw err(`in pure evaluation mode, '${what}' requires a 'sha256' argument`, null);
  }
  return a;
}

function setFetchArgs(x: NixAttrs, pos: Pos | undefined, what: string): FetchArgs {
  const a: Partial<FetchArgs> = {};
  for (const k of x.keys()) {
    const at = x.posOf(k) ?? pos;
    if (k === 'url') a.url = urlOf(x.get(k)!, at);
    else if (k === 'sha256') a.sha256 = checkedSha256(forceStrNoCtx(x.get(k)!, at));
    else if (k === 'name') a.name = forceStrNoCtx(x.get(k)!, at);
    else throw err(`unsupported argument '${k}' to '${what}'`, at);
  }
  if (a.url === undefined) throw err(`'url' argument required`, pos);
  return a as FetchArgs;
}

/** A fetcher's string argument: coerced as 2.8's fetchers do, never copied to the store. */
function coerceArg(state: EvalState, v: Lazy, pos: Pos | undefined): string {
  return coerceToString(state, v, new Set(), { coerceMore: false, copyToStore: false }, pos);
}

/** 2.8 parses the hash with the arguments (newHashAllowEmpty): its errors have no position. */
function checkedSha256(s: string): string {
  if (s === '') return s;
  try {
    parseHash(s, 'sha256');
  } catch (e) {
    throw err((e as Error).message, null);
  }
  return s;
}

const GIT_ATTRS = ['type', 'url', 'ref', 'rev', 'shallow', 'submodules', 'lastModified', 'revCount', 'narHash', 'allRefs', 'name'];

/** 2.8 `fetchGit` (fetchTree with type git): a URL (coerced), or a set whose
 *  attributes libfetchers checks, with its position-less texts. */
function fetchGitArgs(state: EvalState, v: Lazy, pos: Pos | undefined): FetchArgs {
  const x = force(v);
  if (!(x instanceof NixAttrs)) return { url: coerceArg(state, x, pos) };
  const a: Partial<FetchArgs> = {};
  const json: string[] = [];
  for (const k of x.keys()) {
    const at = x.posOf(k) ?? pos;
    const val = force(x.get(k)!);
    if (typeof val === 'string' || val instanceof NixString || val instanceof NixPath) {
      const s = coerceArg(state, val, at);
      if (k === 'url' || k === 'name' || k === 'rev' || k === 'ref') a[k] = s;
      json.push(`${JSON.stringify(k)}:${JSON.stringify(s)}`);
    } else if (typeof val === 'boolean' || typeof val === 'number' || typeof val === 'bigint') {
      json.push(`${JSON.stringify(k)}:${String(val)}`);
    } else {
      throw new EvalError(EvalErrorCode.E_TYPE, `fetchTree argument '${k}' is ${showType(val)} while a string, Boolean or integer is expected`, null);
    }
  }
  for (const k of x.keys()) if (!GIT_ATTRS.includes(k)) throw err(`unsupported Git input attribute '${k}'`, null);
  if (!x.has('url')) throw err("input attribute 'url' is missing", null);
  if (a.url === undefined) {
    const all = [...json, '"type":"git"'].sort();
    throw err(`input attribute 'url' is not a string {${all.join(',')}}`, null);
  }
  return a as FetchArgs;
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

/** What a fetcher fetched may be read in pure mode (2.8 allowPath). */
function allowed(state: EvalState, v: Value): Value {
  if (v instanceof NixString) state.allowPath(v.s);
  return v;
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
    // As 2.8: the one top-level entry is the result (a file too); any other count is an error.
    const entries = fs.readdirSync(tmp);
    if (entries.length !== 1) throw err(`tarball '${a.url}' contains an unexpected number of top-level files`, null);
    const root = join(tmp, entries[0]!);
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

/** The input's URL as 2.8 shows it (`git+file:///…`). */
function gitInputName(url: string): string {
  return `git+${url.startsWith('/') ? 'file://' + url : url}`;
}

function fetchGit(io: GlueIO, a: FetchArgs, pos?: Pos): Value {
  const repo = localPath(a.url, pos);
  const isRepo = spawnSync('git', ['-C', repo, 'rev-parse', '--git-dir'], { stdio: 'ignore' }).status === 0;
  if (!isRepo) {
    // 2.8 then fetches from the URL: git says why it cannot (on stderr,
    // as it is) and the fetch fails.
    const r = spawnSync('git', ['ls-remote', '--', `file://${repo}`], { encoding: 'latin1', stdio: ['ignore', 'ignore', 'pipe'] });
    for (const line of (r.stderr ?? '').replace(/\n$/, '').split('\n')) if (r.stderr) io.trace(line);
    throw err(`program 'git' failed with exit code ${r.status ?? 1}`, null).addFrame(`while fetching the input '${gitInputName(a.url)}'`, null);
  }
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

/** 2.8 `fetchMercurial`'s arguments: a URL (coerced) or `url`, `rev`, `name`. */
function fetchHgArgs(state: EvalState, v: Lazy, pos: Pos | undefined): FetchArgs {
  const x = force(v);
  if (!(x instanceof NixAttrs)) return { url: coerceArg(state, x, pos) };
  const a: FetchArgs = { url: '' };
  for (const k of x.keys()) {
    const at = x.posOf(k) ?? pos;
    if (k === 'url') a.url = coerceArg(state, x.get(k)!, at);
    else if (k === 'rev') a.rev = forceStrNoCtx(x.get(k)!, at);
    else if (k === 'name') a.name = forceStrNoCtx(x.get(k)!, at);
    else throw err(`unsupported argument '${k}' to 'fetchMercurial'`, at);
  }
  if (a.url === '') throw err(`'url' argument required`, pos);
  return a;
}

/** Whether `prog` can be executed from PATH (as execvp would find it). */
function onPath(prog: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(join(d || '.', prog), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * tix does not fetch Mercurial repositories. Without `hg` on PATH it fails
 * exactly as 2.8 does there (its child's exec error, then 'hg failed with
 * exit code 1' while fetching the input); with `hg` it says it cannot.
 */
function fetchMercurial(io: GlueIO, pureEval: boolean, a: FetchArgs): Value {
  if (pureEval && a.rev === undefined) throw err("in pure evaluation mode, 'fetchMercurial' requires a Mercurial revision", null);
  const input = `hg+${a.url.includes('://') ? a.url : 'file://' + a.url}`;
  if (onPath('hg')) throw err(`fetching the input '${input}' is not supported by tix`, null);
  io.trace("\x1b[31;1merror:\x1b[0m executing '\x1b[35;1mhg\x1b[0m': \x1b[35;1mNo such file or directory\x1b[0m");
  throw err('hg failed with exit code 1', null).addFrame(`while fetching the input '${input}'`, null);
}

export function registerFetchers(r: BuiltinRegistry, io: GlueIO, features: ReadonlySet<string> = new Set()): void {
  // 2.8 checks the experimental feature before looking at the argument.
  if (!features.has('flakes')) {
    r.add('fetchTree', 1, () => {
      throw err("experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override", null);
    });
  }
  r.add('fetchurl', 1, (args, pos, state) => allowed(state, fetchurl(io, fetchArgs(state, args[0]!, pos, 'fetchurl'), pos)));
  r.add('fetchTarball', 1, (args, pos, state) => allowed(state, fetchTarball(io, fetchArgs(state, args[0]!, pos, 'fetchTarball'), pos)));
  r.add('fetchGit', 1, (args, pos, state) => {
    const a = fetchGitArgs(state, args[0]!, pos);
    if (state.pureEval && a.rev === undefined) {
      throw err(`in pure evaluation mode, 'fetchTree' requires a locked input, at ${pos ? showPosParens(pos) : 'undefined position'}`, null);
    }
    const v = fetchGit(io, a, pos);
    if (v instanceof NixAttrs) state.allowPath(strOf(force(v.get('outPath')!) as NixString));
    return v;
  });
  r.add('fetchMercurial', 1, (args, pos, state) => fetchMercurial(io, state.pureEval, fetchHgArgs(state, args[0]!, pos)));
}

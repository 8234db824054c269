/**
 * `builtin:fetchurl` (Nix 2.8 `builtinFetchurl`, run by `startBuilder` for
 * `builder = "builtin:…"`): download `url` to `$out` — verbatim, or as a NAR
 * restored to `$out` when `unpack = "1"` (xz-decompressed first when the URL
 * ends in `.xz`); `executable = "1"` makes the file 0755. The hash is checked
 * afterwards like any fixed-output derivation's.
 *
 * Nix runs it in a forked child whose stderr is the build log; here it runs in
 * this process and its "log" is a stream fed the same way: a file-transfer
 * activity as `@nix` lines (handled by `BuilderJsonLog`), retry warnings as
 * `@nix` msg lines, and on failure the error as Nix prints it, exit status 1.
 * `hashed-mirrors` is empty by default in 2.8 and not consulted.
 *
 * Supported schemes: `file://`, `http://`, `https://` (no TLS verification is
 * needed: the content hash is checked).
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { ActivityType, Verbosity } from '../../core/index.js';
import { restorePath } from '../../store/index.js';
import type { BuilderProcess, SpawnRequest } from '../hooks.js';

/** A download failure; `transient` ones are retried (Nix `FileTransferError` kinds). */
class FetchError extends Error {
  constructor(message: string, readonly transient: boolean) {
    super(message);
  }
}

const RED_ERROR = '\x1b[31;1merror:\x1b[0m ';
const WARNING = '\x1b[35;1mwarning:\x1b[0m ';
let nextId = 1;

export interface BuiltinOptions {
  /** `download-attempts`. */
  attempts: number;
  /**
   * Read `file://` URLs only where anyone may (world-readable file, searchable
   * directories): set when 2.8 would run the builder as a build user or in a
   * sandbox, so this process's own rights do not leak into a build.
   */
  worldReadableOnly?: boolean;
}

/** Run a `builtin:` builder; unknown names fail as in Nix. */
export function startBuiltin(req: SpawnRequest, opts: BuiltinOptions): BuilderProcess {
  const output = new PassThrough();
  const abort = new AbortController();
  const name = req.builder.slice('builtin:'.length);
  const run = name === 'fetchurl' ? fetchurl(req.env, output, abort.signal, opts) : Promise.reject(new Error(`unsupported builtin builder '${name}'`));
  const exited = run.then(
    () => ({ code: 0, signal: null }),
    (e: unknown) => {
      if (!abort.signal.aborted) output.write(formatError((e as Error).message) + '\n');
      return abort.signal.aborted ? { code: null, signal: 'SIGKILL' as NodeJS.Signals } : { code: 1, signal: null };
    },
  ).finally(() => output.end());
  return { pid: -1, output, exited, kill: () => abort.abort() };
}

/** Nix's `showErrorInfo` layout: red `error:`, continuation lines indented by 7 (blank ones not). */
function formatError(msg: string): string {
  const [first, ...rest] = msg.split('\n');
  return RED_ERROR + first + rest.map((l) => '\n' + (l === '' ? '' : '       ' + l)).join('');
}

function event(out: PassThrough, obj: Record<string, unknown>): void {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort()) sorted[k] = obj[k];
  out.write('@nix ' + JSON.stringify(sorted) + '\n');
}

async function fetchurl(env: Readonly<Record<string, string>>, out: PassThrough, signal: AbortSignal, opts: BuiltinOptions): Promise<void> {
  const getAttr = (n: string): string => {
    const v = env[n];
    if (v === undefined) throw new Error(`attribute '${n}' missing`);
    return v;
  };
  const storePath = getAttr('out');
  const url = getAttr('url');
  const unpack = env.unpack === '1';
  const id = nextId++;
  event(out, { action: 'start', id, level: Verbosity.Talkative, type: ActivityType.FileTransfer, text: `downloading '${url}'`, fields: [url] });
  let data: Uint8Array;
  try {
    data = await withRetries(url, out, signal, opts);
  } finally {
    event(out, { action: 'stop', id });
  }
  if (unpack) {
    if (url.endsWith('.xz')) data = await unxz(data);
    await restorePath(storePath, (async function* () {
      yield data;
    })());
  } else {
    writeFileSync(storePath, data);
  }
  if (env.executable === '1') chmodSync(storePath, 0o755);
}

async function withRetries(url: string, out: PassThrough, signal: AbortSignal, opts: BuiltinOptions): Promise<Uint8Array> {
  const attempts = opts.attempts;
  for (let attempt = 1; ; attempt++) {
    try {
      return await download(url, signal, opts.worldReadableOnly ?? false);
    } catch (e) {
      if (!(e instanceof FetchError) || !e.transient || attempt >= attempts || signal.aborted) throw e;
      // Nix: 250 ms × 2^(attempt-1), plus up to 100% jitter.
      const ms = Math.floor(250 * 2 ** (attempt - 1) * (1 + Math.random()));
      event(out, { action: 'msg', level: Verbosity.Warn, msg: `${WARNING}${RED_ERROR}${e.message}; retrying in ${ms} ms` });
      await new Promise((r) => setTimeout(r, ms));
    }
  }
}

async function download(url: string, signal: AbortSignal, worldReadableOnly: boolean): Promise<Uint8Array> {
  if (url.startsWith('file://')) {
    try {
      const path = decodeURIComponent(new URL(url).pathname);
      if (worldReadableOnly && !readableByAnyone(path)) throw new Error('not readable by anyone');
      return readFileSync(path);
    } catch {
      throw new FetchError(`unable to download '${url}': Couldn't read a file:// file (37)`, false);
    }
  }
  if (!/^https?:\/\//.test(url)) throw new FetchError(`unable to download '${url}': Unsupported protocol (1)`, false);
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    if (signal.aborted) throw e;
    const code = ((e as { cause?: { code?: string } }).cause?.code) ?? '';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new FetchError(`unable to download '${url}': Couldn't resolve host name (6)`, true);
    throw new FetchError(`unable to download '${url}': Couldn't connect to server (7)`, true);
  }
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.ok) return body;
  throw httpError(url, res, body);
}

/** A regular file with the other-read bit, below directories with the other-execute bit. */
function readableByAnyone(path: string): boolean {
  const st = statSync(path);
  if (!st.isFile() || (st.mode & 0o004) === 0) return false;
  for (let d = dirname(path); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === '/') return true;
  }
}

function httpError(url: string, res: Response, body: Uint8Array): FetchError {
  let msg = `unable to download '${url}': HTTP error ${res.status} ('${res.statusText}')`;
  const text = Buffer.from(body).toString('latin1');
  if (text !== '' && (body.length < 1024 || text.includes('<html>'))) {
    msg += `\n\nresponse body:\n\n\x1b[35;1m${text.replace(/\n+$/, '')}\x1b[0m`;
  }
  const permanent = [401, 403, 404, 407, 410].includes(res.status);
  return new FetchError(msg, !permanent && res.status >= 500);
}

function unxz(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error('error: xz decompression failed'))));
    child.stdin.end(data);
  });
}

/**
 * The evaluation flags every evaluating command shares (Nix 2.8
 * `MixEvalArgs`: `--arg`, `--argstr`, `-I`/`--include`, `--impure`,
 * `--show-trace`) and the search path (`-I` entries first, then `NIX_PATH`,
 * then the `nix-path` setting), turned into an `EvalJob` skeleton. Used by
 * nix-instantiate, nix eval, nix-build and nix build.
 */
import { resolve } from 'node:path';
import { CoreErrorCode, NixError, type Settings } from '../core/index.js';
import type { SearchPathEntry } from '../eval/index.js';
import type { EvalJob } from './eval-job.js';

/** JS (UTF-16) text → byte string. */
export function bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

export interface EvalArgs {
  autoArgs: EvalJob['autoArgs'];
  includes: string[];
  impure: boolean;
  showTrace: boolean;
}

export function emptyEvalArgs(): EvalArgs {
  return { autoArgs: [], includes: [], impure: false, showTrace: false };
}

/**
 * Try to consume one eval flag at `args[i]`; returns how many arguments were
 * used (0 = not an eval flag). A missing argument is a usage error (the
 * CLI's error report adds the command's `--help` hint).
 */
export function takeEvalFlag(args: string[], i: number, out: EvalArgs): number {
  const a = args[i]!;
  const need = (n: number): string[] => {
    if (i + n >= args.length) throw new NixError(CoreErrorCode.E_USAGE, `flag '${a}' requires ${n} argument(s)`, { usage: true });
    return args.slice(i + 1, i + 1 + n);
  };
  switch (a) {
    case '--arg': {
      const [name, value] = need(2);
      out.autoArgs.push({ name: bytes(name!), kind: 'expr', value: bytes(value!) });
      return 3;
    }
    case '--argstr': {
      const [name, value] = need(2);
      out.autoArgs.push({ name: bytes(name!), kind: 'str', value: bytes(value!) });
      return 3;
    }
    case '-I': case '--include':
      out.includes.push(need(1)[0]!);
      return 2;
    case '--impure':
      out.impure = true;
      return 1;
    case '--show-trace':
      out.showTrace = true;
      return 1;
    case '--no-show-trace':
      out.showTrace = false;
      return 1;
    default:
      return 0;
  }
}

/** Split NIX_PATH-style text: `:`-separated, but `scheme://` URLs keep their colon. */
export function splitNixPath(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ':' && !s.startsWith('//', i + 1)) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

function entry(s: string, cwd: string): SearchPathEntry {
  const eq = s.indexOf('=');
  const [prefix, path] = eq < 0 ? ['', s] : [s.slice(0, eq), s.slice(eq + 1)];
  const abs = /^[a-z]+:\/\//.test(path) ? path : resolve(cwd, path);
  return { prefix: bytes(prefix), path: bytes(abs) };
}

export function searchPath(includes: string[], env: NodeJS.ProcessEnv, settings: Settings, cwd: string): SearchPathEntry[] {
  const entries = [...includes];
  const np = env.NIX_PATH;
  if (np !== undefined && np !== '') entries.push(...splitNixPath(np));
  else if (np === undefined) entries.push(...settings.getList('nix-path', []));
  return entries.map((e) => entry(e, cwd));
}

/** The platform string Nix uses for `builtins.currentSystem`. */
export function currentSystem(settings: Settings): string {
  const s = settings.getRaw('system');
  if (s) return s;
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch === 'ia32' ? 'i686' : process.arch;
  return `${arch}-${process.platform}`;
}

export interface JobBase {
  settings: Settings;
  env: NodeJS.ProcessEnv;
  storeDir: string;
  cwd?: string;
  /** argv[0] as invoked (usage errors name it). */
  programName?: string;
}

/** An EvalJob with the defaults filled in from the environment. */
export function baseJob(b: JobBase, ea: EvalArgs): EvalJob {
  const cwd = b.cwd ?? process.cwd();
  return {
    mode: 'eval',
    inputs: [],
    attrPaths: [''],
    autoArgs: ea.autoArgs,
    output: 'plain',
    strict: false,
    location: true,
    showTrace: ea.showTrace || b.settings.getBool('show-trace', false),
    readWrite: false,
    pureEval: b.settings.getBool('pure-eval', false),
    searchPath: searchPath(ea.includes, b.env, b.settings, cwd),
    cwd: bytes(cwd),
    home: bytes(b.env.HOME ?? ''),
    env: { ...b.env },
    storeDir: b.storeDir,
    system: currentSystem(b.settings),
    experimentalFeatures: [...b.settings.experimentalFeatures()],
    programName: b.programName,
  };
}

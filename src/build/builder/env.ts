/**
 * The builder environment (Nix 2.8 `LocalDerivationGoal::initEnv`,
 * `initTmpDir`, `writeStructuredAttrs`). Nothing of the caller's environment
 * leaks in, except `impureEnvVars` of fixed-output derivations.
 *
 * Order matters and mirrors Nix: PATH/HOME/NIX_STORE/NIX_BUILD_CORES first (a
 * drv attribute may override them), then the drv env (or structured-attrs
 * files), then NIX_BUILD_TOP/TMPDIR/…/PWD, NIX_OUTPUT_CHECKED and impure vars,
 * then NIX_LOG_FD and TERM. Output placeholders are rewritten to the output
 * paths in every env value and argument (`inputRewrites`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashBytes } from '../../formats/index.js';
import { dumpJson, structuredAttrsShell, type Json } from './structured-attrs.js';

export interface EnvRequest {
  storeDir: string;
  /** Drv env, decoded to JS strings. */
  drvEnv: ReadonlyMap<string, string>;
  /** Output name → full path the builder writes. */
  outputs: ReadonlyMap<string, string>;
  /** Placeholder → replacement (hashPlaceholder(out) → out path, …). */
  rewrites: ReadonlyMap<string, string>;
  isFixedOutput: boolean;
  buildDir: string;
  buildDirInSandbox: string;
  cores: number;
  /** The caller's environment (for impureEnvVars). */
  callerEnv: NodeJS.ProcessEnv;
  /** Structured attrs only: `exportReferencesGraph` closures, merged into `.attrs.json` after `outputs`. */
  exportedGraphs?: { [k: string]: Json };
}

export function rewriteStrings(s: string, rewrites: ReadonlyMap<string, string>): string {
  for (const [from, to] of rewrites) if (s.includes(from)) s = s.split(from).join(to);
  return s;
}

function words(s: string | undefined): string[] {
  return (s ?? '').split(/[ \t\n\r]+/).filter((w) => w !== '');
}

/** Compute the environment, writing passAsFile / .attrs files into `buildDir`. */
export function makeBuilderEnv(req: EnvRequest): Record<string, string> {
  const env: Record<string, string> = {};
  env.PATH = '/path-not-set';
  env.HOME = '/homeless-shelter';
  env.NIX_STORE = req.storeDir;
  env.NIX_BUILD_CORES = String(req.cores);
  const jsonText = req.drvEnv.get('__json');
  if (jsonText === undefined) addPlainEnv(env, req);
  const top = req.buildDirInSandbox;
  env.NIX_BUILD_TOP = top;
  env.TMPDIR = env.TEMPDIR = env.TMP = env.TEMP = top;
  env.PWD = top;
  if (req.isFixedOutput) {
    env.NIX_OUTPUT_CHECKED = '1';
    for (const v of words(req.drvEnv.get('impureEnvVars'))) env[v] = req.callerEnv[v] ?? '';
  }
  env.NIX_LOG_FD = '2';
  env.TERM = 'xterm-256color';
  if (jsonText !== undefined) writeStructuredAttrs(env, req, jsonText);
  for (const k of Object.keys(env)) env[k] = rewriteStrings(env[k]!, req.rewrites);
  return env;
}

function addPlainEnv(env: Record<string, string>, req: EnvRequest): void {
  const passAsFile = new Set(words(req.drvEnv.get('passAsFile')));
  for (const [k, v] of req.drvEnv) {
    if (!passAsFile.has(k)) {
      env[k] = v;
      continue;
    }
    const fn = '.attr-' + hashBytes('sha256', k).base32;
    writeFileSync(join(req.buildDir, fn), rewriteStrings(v, req.rewrites));
    env[k + 'Path'] = `${req.buildDirInSandbox}/${fn}`;
  }
}

function writeStructuredAttrs(env: Record<string, string>, req: EnvRequest, jsonText: string): void {
  const json = JSON.parse(jsonText) as { [k: string]: Json };
  const outputs: { [k: string]: Json } = {};
  for (const [name, path] of req.outputs) outputs[name] = rewriteStrings(path, req.rewrites);
  json.outputs = outputs;
  Object.assign(json, req.exportedGraphs);
  writeFileSync(join(req.buildDir, '.attrs.sh'), rewriteStrings(structuredAttrsShell(json), req.rewrites));
  env.NIX_ATTRS_SH_FILE = `${req.buildDirInSandbox}/.attrs.sh`;
  writeFileSync(join(req.buildDir, '.attrs.json'), rewriteStrings(dumpJson(json), req.rewrites));
  env.NIX_ATTRS_JSON_FILE = `${req.buildDirInSandbox}/.attrs.json`;
}

/**
 * Shared machinery for the evaluator's differential corpus: loading the
 * corpus files, building the fixture directory both implementations
 * evaluate in, running the reference `nix-instantiate` in a process pool and
 * tix in one worker thread (a fresh EvalState per expression), comparing.
 *
 * Corpus format (`eval-corpus/*.nix.txt`): one expression per line; a
 * multi-line expression sits between a `<<<` line and a `>>>` line; lines
 * starting with `#` and blank lines are ignored.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REF_BIN, REPO_ROOT, type NixRoot } from '../harness/index.js';
import { runEvalJobsInWorker, type EvalJob, type EvalOutput } from '../../src/glue/instantiate.js';
import { baseJob, emptyEvalArgs } from '../../src/glue/eval-args.js';
import { loadSettings } from '../../src/core/index.js';

export const CORPUS_DIR = join(REPO_ROOT, 'test/differential/eval-corpus');

export interface Case {
  id: string;
  expr: string;
}

export function loadCorpus(suffix = '.nix.txt', dir = CORPUS_DIR): Case[] {
  const cases: Case[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(suffix)).sort()) {
    const lines = readFileSync(join(dir, f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const start = i;
      const line = lines[i]!;
      if (line.trim() === '' || line.startsWith('#')) continue;
      if (line === '<<<') {
        const body: string[] = [];
        while (i + 1 < lines.length && lines[i + 1] !== '>>>') body.push(lines[++i]!);
        i++;
        cases.push({ id: `${f.replace(suffix, '')}:${start + 1}`, expr: body.join('\n') });
        continue;
      }
      cases.push({ id: `${f.replace(suffix, '')}:${start + 1}`, expr: line });
    }
  }
  return cases;
}

/** Files the corpus refers to (relative paths, readFile, import, readDir, search path). */
export function makeFixtures(root: NixRoot): string {
  const w = join(root.dir, 'work');
  mkdirSync(join(w, 'dir/sub'), { recursive: true });
  writeFileSync(join(w, 'data.txt'), 'hello\nworld\n');
  writeFileSync(join(w, 'binary.bin'), Buffer.from([0, 1, 2, 255, 254, 10]));
  writeFileSync(join(w, 'dir/a.nix'), '{ x = 1; y = "two"; }\n');
  writeFileSync(join(w, 'dir/default.nix'), 'import ./a.nix\n');
  writeFileSync(join(w, 'dir/sub/f.nix'), 'x: x * 2\n');
  writeFileSync(join(w, 'dir/sub/data'), 'sub data\n');
  writeFileSync(join(w, 'scoped.nix'), 'foo + 1\n');
  writeFileSync(join(w, 'lib.nix'), '{ add = a: b: a + b; fold = op: nul: list: if list == [] then nul else op (builtins.head list) (fold op nul (builtins.tail list)); }\n');
  writeFileSync(join(w, 'ex.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  symlinkSync('data.txt', join(w, 'link'));
  symlinkSync('does-not-exist', join(w, 'dangling'));
  mkdirSync(join(w, 'sp/pkgs'), { recursive: true });
  writeFileSync(join(w, 'sp/pkgs/default.nix'), '{ v = 42; }\n');
  writeFileSync(join(w, 'sp/hello.nix'), '"hello from search path"\n');
  return w;
}

export function corpusEnv(root: NixRoot, work: string): NodeJS.ProcessEnv {
  return { ...root.env, NIX_PATH: `${work}/sp:fix=${work}/dir`, TEST_VAR: 'foo', HOME: join(root.dir, 'home') };
}

export interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run the reference on each expression (process pool). */
export async function runReference(cases: Case[], env: NodeJS.ProcessEnv, cwd: string, extraArgs: string[] = ['--eval', '--strict'], pool = 4): Promise<Outcome[]> {
  const out: Outcome[] = new Array(cases.length);
  let next = 0;
  const one = (c: Case): Promise<Outcome> =>
    new Promise((resolve) => {
      const p = spawn(join(REF_BIN, 'nix-instantiate'), [...extraArgs, '-E', c.expr.startsWith('-') ? ' ' + c.expr : c.expr], { env, cwd });
      const so: Buffer[] = [];
      const se: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => so.push(d));
      p.stderr.on('data', (d: Buffer) => se.push(d));
      const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ status: code ?? 128, stdout: Buffer.concat(so).toString('latin1'), stderr: Buffer.concat(se).toString('utf8') });
      });
    });
  const workers = Array.from({ length: pool }, async () => {
    while (next < cases.length) {
      const i = next++;
      out[i] = await one(cases[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export function tixJob(expr: string, env: NodeJS.ProcessEnv, cwd: string, root: NixRoot, patch: Partial<EvalJob> = {}): EvalJob {
  // Invoked as the reference is (usage errors name argv[0]).
  const programName = join(REF_BIN, 'nix-instantiate');
  const job = baseJob({ settings: loadSettings(env), env, storeDir: root.storeDir, cwd, programName }, emptyEvalArgs());
  job.mode = 'eval';
  job.strict = true;
  job.inputs = [{ kind: 'expr', text: Buffer.from(expr, 'utf8').toString('latin1') }];
  return { ...job, ...patch };
}

/** Run tix on each expression in one worker thread. */
export async function runTixBatch(cases: Case[], env: NodeJS.ProcessEnv, cwd: string, root: NixRoot, patch: Partial<EvalJob> = {}): Promise<Outcome[]> {
  const jobs = cases.map((c) => tixJob(c.expr, env, cwd, root, patch));
  const res: EvalOutput[] = await runEvalJobsInWorker(jobs);
  // EvalOutput.stderr is a byte string (UTF-8 bytes, one char each): decode
  // it as the CLI's terminal would see it, like the reference's stderr.
  return res.map((r) => ({ status: r.status, stdout: Buffer.from(r.stdout).toString('latin1'), stderr: Buffer.from(r.stderr, 'latin1').toString('utf8') }));
}

export interface Mismatch {
  id: string;
  expr: string;
  ref: Outcome;
  tix: Outcome;
}

/**
 * Re-run the reference, one at a time, on the cases that differ: on a loaded
 * machine a parallel reference run occasionally fails for reasons of its own
 * (SQLite busy, timeouts). With `rootDir`, cases whose stderr differs are
 * re-run too. Updates `ref` in place.
 */
export async function retryReference(cases: Case[], ref: Outcome[], tix: Outcome[], env: NodeJS.ProcessEnv, cwd: string, extraArgs?: string[], rootDir?: string): Promise<void> {
  const differ = new Set(compare(cases, ref, tix).map((m) => m.id));
  if (rootDir !== undefined) for (const m of compareStderr(cases, ref, tix, rootDir)) differ.add(m.id);
  const idx = cases.flatMap((c, i) => (differ.has(c.id) ? [i] : []));
  if (idx.length === 0 || idx.length > 50) return;
  const again = await runReference(idx.map((i) => cases[i]!), env, cwd, extraArgs, 1);
  idx.forEach((i, k) => { ref[i] = again[k]!; });
}

export function compare(cases: Case[], ref: Outcome[], tix: Outcome[]): Mismatch[] {
  const bad: Mismatch[] = [];
  cases.forEach((c, i) => {
    const r = ref[i]!;
    const t = tix[i]!;
    const same = (r.status === 0) === (t.status === 0) && (r.status !== 0 || r.stdout === t.stdout);
    if (!same) bad.push({ id: c.id, expr: c.expr, ref: r, tix: t });
  });
  return bad;
}

/** Cases whose whole stderr differs (the root directory shown as ROOT). */
export function compareStderr(cases: Case[], ref: Outcome[], tix: Outcome[], rootDir: string): Mismatch[] {
  const norm = (o: Outcome): Outcome => ({ ...o, stderr: o.stderr.replaceAll(rootDir, 'ROOT') });
  const bad: Mismatch[] = [];
  cases.forEach((c, i) => {
    const r = norm(ref[i]!);
    const t = norm(tix[i]!);
    if (r.stderr !== t.stderr) bad.push({ id: c.id, expr: c.expr, ref: r, tix: t });
  });
  return bad;
}

export function showStderrMismatch(m: Mismatch): string {
  const indent = (s: string) => s.replace(/\n$/, '').split('\n').map((l) => `      ${l}`).join('\n');
  return `${m.id}: ${m.expr.slice(0, 200)}\n    ref:\n${indent(m.ref.stderr)}\n    tix:\n${indent(m.tix.stderr)}`;
}

export function showMismatch(m: Mismatch): string {
  const one = (o: Outcome) => (o.status === 0 ? o.stdout.trimEnd() : `FAIL(${o.status}) ${o.stderr.split('\n')[0]}`);
  return `${m.id}: ${m.expr}\n    ref: ${one(m.ref)}\n    tix: ${one(m.tix)}`;
}

/** Ids listed in a known-divergences file (`id  # reason`). */
export function knownList(file: string): Set<string> {
  try {
    return new Set(readFileSync(join(CORPUS_DIR, file), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
  } catch {
    return new Set();
  }
}

/**
 * `nix-build` (Nix 2.8 nix-build.cc, the non-shell half): instantiate the
 * derivations of a file (default `./default.nix`) or `-E` expressions with
 * `-A`/`--arg`/`--argstr`, print what will be built, build them all at once,
 * then create `result`, `result-2`, … (`-<output>` for non-`out` outputs)
 * unless `--no-out-link`, and print the output paths.
 * Flags: -o/--out-link, --no-out-link, --dry-run, --check, --repair, and the
 * common build flags (-j, --cores, -k, -K, -Q, --option, --timeout, …).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { NixError, CoreErrorCode, loadSettings, nixDirs } from '../core/index.js';
import type { DerivedPath, Store } from '../store/index.js';
import { readDerivation } from '../build/index.js';
import { baseJob, bytes, emptyEvalArgs, runEvalJobInWorker, takeEvalFlag } from '../glue/index.js';
import { missingArg, reachArg, takeCommonFlags, usageError, warnUnknownSettings } from './args.js';
import type { CliContext } from './context.js';
import { makeWarmUpDir, removeStaleWarmUps, removeWarmUpDir, warmUpBase } from './warm-up-dir.js';
import { addPermRoot, expandShortFlags, openBuildSession, printMissing, reportBuildError, NO_GC_ROOT_WARNING } from './progress-build.js';

interface Flags {
  files: string[];
  attrs: string[];
  fromArgs: boolean;
  outLink: string;
  noOutLink: boolean;
  dryRun: boolean;
  mode: 'normal' | 'check' | 'repair';
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const common = takeCommonFlags(expandShortFlags(argv), ctx, undefined, { defer: true });
  const ea = emptyEvalArgs();
  const f: Flags = { files: [], attrs: [], fromArgs: false, outLink: 'result', noOutLink: false, dryRun: false, mode: 'normal' };
  const rest = common.rest;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    reachArg(ctx, common, i);
    const n = takeEvalFlag(rest, i, ea);
    if (n > 0) {
      i += n - 1;
      continue;
    }
    const arg = (): string | undefined => rest[++i];
    if (a === '--attr' || a === '-A') {
      const v = arg();
      if (v === undefined) throw missingArg(a);
      f.attrs.push(v);
    } else if (a === '-E' || a === '--expr') f.fromArgs = true;
    else if (a === '-o' || a === '--out-link') {
      const v = arg();
      if (v === undefined) throw missingArg(a);
      f.outLink = v;
    } else if (a === '--no-out-link' || a === '--no-link') f.noOutLink = true;
    else if (a === '--dry-run') f.dryRun = true;
    else if (a === '--check') f.mode = 'check';
    else if (a === '--repair') f.mode = 'repair';
    else if (a === '--version') {
      ctx.stdout.write('nix-build (Nix) 2.8.0\n');
      return 0;
    } else if (a === '--indirect' || a === '--add-root' || a === '--drv-link' || a === '--add-drv-link') {
      if (a === '--drv-link') arg();
    } else if (a !== '-' && a.startsWith('-')) throw usageError(`unrecognised flag '${a}'`);
    else {
      // 2.8 warns about unknown settings at the first positional argument ('-' reads as a flag there).
      if (a !== '-') warnUnknownSettings(ctx, common, i);
      f.files.push(a);
    }
  }
  warnUnknownSettings(ctx, common);
  const session = await openBuildSession(ctx, { newCli: false, verbosity: common.verbosity });
  try {
    return await build(session, f, ea, ctx);
  } catch (e) {
    return reportBuildError(e, ctx, session.logger);
  } finally {
    await session.close();
  }
}

interface Target {
  drvPath: string;
  outputName: string;
}

async function evaluate(f: Flags, ea: ReturnType<typeof emptyEvalArgs>, ctx: CliContext, store: Store): Promise<Target[] | number> {
  const job = baseJob({ settings: ctx.settings, env: ctx.env, storeDir: ctx.dirs.storeDir, programName: ctx.programName }, ea);
  job.mode = 'instantiate';
  job.readWrite = true;
  if (f.attrs.length > 0) job.attrPaths = f.attrs.map(bytes);
  const targets: Target[] = [];
  const files = f.files.length === 0 && !f.fromArgs ? ['./default.nix'] : f.files;
  for (const file of files) {
    // A store derivation given directly is built as is (nix-build.cc).
    if (!f.fromArgs && file.endsWith('.drv') && resolve(file).startsWith(ctx.dirs.storeDir + '/')) {
      targets.push({ drvPath: resolve(file), outputName: '' });
      continue;
    }
    job.inputs.push(f.fromArgs ? { kind: 'expr', text: bytes(file) } : { kind: 'file', path: file.startsWith('<') ? bytes(file) : bytes(resolve(file)) });
  }
  if (job.inputs.length === 0) return targets;
  // The session's store takes the evaluator's writes (the .drv files): one database
  // connection and one temp-roots file per command; the session closes it.
  const res = await runEvalJobInWorker(job, { store });
  // nix-instantiate's GC warning is not nix-build's.
  const stderr = res.stderr.split('\n').filter((l) => !l.startsWith(NO_GC_ROOT_WARNING)).join('\n');
  if (stderr !== '') ctx.stderr.write(Buffer.from(stderr, 'latin1'));
  if (res.status !== 0) return res.status;
  for (const d of res.drvs ?? []) targets.push({ drvPath: d.drvPath, outputName: d.outputName });
  return targets;
}

async function build(session: Awaited<ReturnType<typeof openBuildSession>>, f: Flags, ea: ReturnType<typeof emptyEvalArgs>, ctx: CliContext): Promise<number> {
  const targets = await evaluate(f, ea, ctx, session.store);
  if (typeof targets === 'number') return targets;
  const { store } = session;
  const sd = store.storeDir;
  const paths: DerivedPath[] = targets.map((t) => ({ kind: 'built', drvPath: sd.parse(t.drvPath), outputs: t.outputName === '' ? 'all' : [t.outputName] }));
  // nix-build hands its paths to the store as a set: sorted by drv path.
  const sorted = [...paths].sort((a, b) => ((a as { drvPath: { baseName: string } }).drvPath.baseName < (b as { drvPath: { baseName: string } }).drvPath.baseName ? -1 : 1));
  await printMissing(session, sorted);
  if (f.dryRun) return 0;
  await session.buildPaths(sorted, f.mode);
  const out: string[] = [];
  const prefixes = new Map<string, string>();
  for (const t of targets) {
    const drv = readDerivation(sd, sd.parse(t.drvPath));
    const names = t.outputName === '' ? [...drv.outputs.keys()] : [t.outputName];
    for (const name of names) {
      const outPath = drv.outputs.get(name)?.path;
      if (outPath === undefined) throw new NixError(CoreErrorCode.E_USAGE, `derivation '${t.drvPath}' has no output '${name}'`);
      if (!f.noOutLink) {
        let prefix = prefixes.get(t.drvPath);
        if (prefix === undefined) {
          prefix = prefixes.size > 0 ? `${f.outLink}-${prefixes.size + 1}` : f.outLink;
          prefixes.set(t.drvPath, prefix);
        }
        const link = resolve(name === 'out' ? prefix : `${prefix}-${name}`);
        await addPermRoot(store, sd.parse(outPath), link);
      }
      out.push(outPath);
    }
  }
  session.logger.stop();
  ctx.stdout.write(out.map((p) => p + '\n').join(''));
  return 0;
}

/**
 * For a warm process (the launcher's pool child) before it waits for a job:
 * one throwaway `nix-build` of a trivial derivation in a temporary store and
 * state dir, removed afterwards. The build path (store open, SQLite and koffi
 * loaded, evaluation of a derivation, the worker and goal, posix_spawn,
 * output registration, the log) is then compiled, which a one-build job
 * otherwise pays on its own clock: measured in a simulated pool child,
 * `nix-build` of one trivial derivation took a median 131 ms with this
 * against 272 ms without (load 9). It sees only its own environment (never
 * the process's), writes nothing outside its temporary dir, and never throws;
 * true when the build succeeded.
 *
 * The dir goes under /dev/shm when there is one (else the temp dir, or
 * `baseDir`): a pool starts a child per command, and on a disk each warm-up's
 * SQLite fsyncs and deletions would compete with the commands being run.
 * Dirs left by warm-ups that were killed (a pool manager exiting while a
 * child warms up) are removed once their process is gone.
 */
export async function warmUpBuild(baseDir = warmUpBase()): Promise<boolean> {
  let dir: string | undefined;
  try {
    removeStaleWarmUps(baseDir);
    dir = makeWarmUpDir(baseDir);
    for (const d of ['store', 'var', 'log', 'etc', 'home']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'etc', 'nix.conf'), 'build-users-group =\nsubstituters =\nsandbox = false\n');
    const env: NodeJS.ProcessEnv = {
      NIX_STORE_DIR: join(dir, 'store'),
      NIX_STATE_DIR: join(dir, 'var'),
      NIX_LOG_DIR: join(dir, 'log'),
      NIX_CONF_DIR: join(dir, 'etc'),
      NIX_REMOTE: '',
      NIX_PATH: '',
      HOME: join(dir, 'home'),
      XDG_CONFIG_HOME: join(dir, 'home'),
      TMPDIR: dir,
    };
    const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
    const ctx: CliContext = { programName: 'nix-build', env, settings: loadSettings(env), dirs: nixDirs(env), stdout: sink(), stderr: sink(), stdin: Readable.from([]) };
    const expr = 'derivation { name = "tix-warm-up"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }';
    return (await run(['-E', expr, '--no-out-link'], ctx)) === 0;
  } catch {
    return false; // only an optimisation
  } finally {
    if (dir !== undefined) removeWarmUpDir(dir);
  }
}


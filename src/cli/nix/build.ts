/**
 * `nix build` (Nix 2.8 nix/build.cc), without flakes: installables are
 * attribute paths of `-f FILE` or `--expr E` (the expression itself when none
 * is given), or store paths (`x.drv` builds all its outputs; `x.drv!out`).
 * Creates `result`, `result-1`, … (`-<output>` for non-`out` outputs) unless
 * `--no-link`; `--json` prints `[{"drvPath":…,"outputs":{…}}]`;
 * `--print-out-paths` (a later Nix's flag, accepted here) prints the paths;
 * `--rebuild` is `--check`; `--dry-run` only lists. Failures exit with 1.
 */
import { resolve } from 'node:path';
import type { DerivedPath } from '../../store/index.js';
import { readDerivation } from '../../build/index.js';
import { baseJob, bytes, emptyEvalArgs, openStore, runEvalJobInWorker, takeEvalFlag } from '../../glue/index.js';
import { missingFlagArgs, takeCommonFlags, usageError } from '../args.js';
import type { CliContext } from '../context.js';
import { addPermRoot, announceExpected, expandShortFlags, followLinksToStorePath, openBuildSession, printMissing, reportBuildError, type BuildSession, NO_GC_ROOT_WARNING } from '../progress-build.js';

interface Flags {
  file?: string;
  expr?: string;
  installables: string[];
  outLink: string;
  noLink: boolean;
  json: boolean;
  printOutPaths: boolean;
  dryRun: boolean;
  mode: 'normal' | 'check';
}

interface Target {
  drvPath: string;
  outputs: string[] | 'all';
  /** A plain store path (not a `.drv`): realised as is (2.8 `DerivedPath::Opaque`). */
  opaque?: boolean;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const words = argv[0] === 'build' ? argv.slice(1) : argv;
  const common = takeCommonFlags(expandShortFlags(words), ctx);
  const ea = emptyEvalArgs();
  const f: Flags = { installables: [], outLink: 'result', noLink: false, json: false, printOutPaths: false, dryRun: false, mode: 'normal' };
  const rest = common.rest;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const n = takeEvalFlag(rest, i, ea);
    if (n > 0) {
      i += n - 1;
      continue;
    }
    const arg = (): string => {
      const v = rest[++i];
      if (v === undefined) throw missingFlagArgs(a, 1);
      return v;
    };
    if (a === '-f' || a === '--file') f.file = arg();
    else if (a === '--expr') f.expr = arg();
    else if (a === '-o' || a === '--out-link') f.outLink = arg();
    else if (a === '--no-link') f.noLink = true;
    else if (a === '--json') f.json = true;
    else if (a === '--print-out-paths') f.printOutPaths = true;
    else if (a === '--dry-run') f.dryRun = true;
    else if (a === '--rebuild') f.mode = 'check';
    else if (a.startsWith('-')) throw usageError(`unrecognised flag '${a}'`);
    else f.installables.push(a);
  }
  const session = await openBuildSession(ctx, { newCli: true, verbosity: common.verbosity });
  try {
    return await build(session, f, ea, ctx);
  } catch (e) {
    const code = reportBuildError(e, ctx, session.logger);
    // The new CLI does not use the build-failure bitmask.
    return code === 0 ? 0 : 1;
  } finally {
    await session.close();
  }
}

async function evaluate(f: Flags, ea: ReturnType<typeof emptyEvalArgs>, ctx: CliContext, session: BuildSession): Promise<Target[] | number> {
  const targets: Target[] = [];
  if (f.file === undefined && f.expr === undefined) {
    for (const i of f.installables) {
      const bang = i.lastIndexOf('!');
      const p = followLinksToStorePath(session.store, bang >= 0 ? i.slice(0, bang) : i, process.cwd());
      if (!p.isDerivation()) {
        targets.push({ drvPath: session.store.storeDir.print(p), outputs: 'all', opaque: true });
        continue;
      }
      targets.push({ drvPath: session.store.storeDir.print(p), outputs: bang >= 0 ? i.slice(bang + 1).split(',') : 'all' });
    }
    return targets;
  }
  const job = baseJob({ settings: ctx.settings, env: ctx.env, storeDir: ctx.dirs.storeDir, programName: ctx.programName }, ea);
  job.mode = 'instantiate';
  job.readWrite = true;
  job.attrPaths = (f.installables.length > 0 ? f.installables : ['']).map(bytes);
  job.inputs.push(f.expr !== undefined ? { kind: 'expr', text: bytes(f.expr) } : { kind: 'file', path: bytes(resolve(f.file!)) });
  const res = await runEvalJobInWorker(job, { openStore: () => openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env }) });
  const stderr = res.stderr.split('\n').filter((l) => !l.startsWith(NO_GC_ROOT_WARNING)).join('\n');
  if (stderr !== '') ctx.stderr.write(Buffer.from(stderr, 'latin1'));
  if (res.status !== 0) return 1;
  for (const d of res.drvs ?? []) targets.push({ drvPath: d.drvPath, outputs: [d.outputName] });
  return targets;
}

async function build(session: BuildSession, f: Flags, ea: ReturnType<typeof emptyEvalArgs>, ctx: CliContext): Promise<number> {
  const targets = await evaluate(f, ea, ctx, session);
  if (typeof targets === 'number') return targets;
  const { store } = session;
  const sd = store.storeDir;
  const paths: DerivedPath[] = targets.map((t) =>
    t.opaque ? { kind: 'opaque', path: sd.parse(t.drvPath) } : { kind: 'built', drvPath: sd.parse(t.drvPath), outputs: t.outputs });
  if (f.dryRun) {
    await printMissing(session, paths);
    return 0;
  }
  await announceExpected(session, paths);
  await session.buildPaths(paths, f.mode);
  const json: unknown[] = [];
  const outPaths: string[] = [];
  for (const [i, t] of targets.entries()) {
    if (t.opaque) {
      outPaths.push(t.drvPath);
      if (!f.noLink) await addPermRoot(store, sd.parse(t.drvPath), resolve(i > 0 ? `${f.outLink}-${i}` : f.outLink));
      json.push({ path: t.drvPath });
      continue;
    }
    const drv = readDerivation(sd, sd.parse(t.drvPath));
    const names = t.outputs === 'all' ? [...drv.outputs.keys()] : t.outputs;
    const outputs: Record<string, string> = {};
    for (const name of names) {
      const p = drv.outputs.get(name)?.path;
      if (p === undefined) continue;
      outputs[name] = p;
      outPaths.push(p);
      if (!f.noLink) {
        let link = f.outLink;
        if (i > 0) link += `-${i}`;
        if (name !== 'out') link += `-${name}`;
        await addPermRoot(store, sd.parse(p), resolve(link));
      }
    }
    json.push({ drvPath: t.drvPath, outputs });
  }
  session.logger.stop();
  if (f.json) ctx.stdout.write(JSON.stringify(json) + '\n');
  else if (f.printOutPaths) ctx.stdout.write(outPaths.map((p) => p + '\n').join(''));
  return 0;
}

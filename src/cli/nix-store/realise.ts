/**
 * `nix-store --realise` / `-r` (Nix 2.8 nix-store.cc `opRealise`): print what
 * will be built, build everything at once, then print each argument's output
 * paths (a drv's outputs sorted by path, or GC roots with `--add-root`).
 * Flags: --dry-run, --ignore-unknown, --check, --repair, --add-root, --indirect,
 * plus the common build flags.
 */
import { NixError, CoreErrorCode, Verbosity, compareUtf8 } from '../../core/index.js';
import type { StorePath } from '../../formats/index.js';
import type { DerivedPath, Store } from '../../store/index.js';
import { readDerivation } from '../../build/index.js';
import { missingArg, takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { addPermRoot, expandShortFlags, openBuildSession, parseDerivedPathArg, printMissing, reportBuildError, type BuildSession, NO_GC_ROOT_WARNING } from '../progress-build.js';

interface RealiseFlags {
  dryRun: boolean;
  ignoreUnknown: boolean;
  mode: 'normal' | 'check' | 'repair';
  addRoot?: string;
  args: string[];
}

function parseFlags(rest: string[]): RealiseFlags {
  const f: RealiseFlags = { dryRun: false, ignoreUnknown: false, mode: 'normal', args: [] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--dry-run') f.dryRun = true;
    else if (a === '--ignore-unknown') f.ignoreUnknown = true;
    else if (a === '--check') f.mode = 'check';
    else if (a === '--repair') f.mode = 'repair';
    else if (a === '--indirect') continue;
    else if (a === '--add-root') {
      const v = rest[++i];
      if (v === undefined) throw missingArg('--add-root');
      f.addRoot = v;
    } else if (a === '--') f.args.push(...rest.slice(i + 1)), (i = rest.length);
    else if (a.startsWith('-') && a !== '-') throw new NixError(CoreErrorCode.E_USAGE, `unknown flag '${a}'`, { hint: "Try 'nix-store --help' for more information." });
    else f.args.push(a);
  }
  return f;
}

/** The paths to print for one argument (Nix `realisePath`). */
function outputsOf(store: Store, p: DerivedPath): StorePath[] {
  if (p.kind === 'opaque') return [p.path];
  const drv = readDerivation(store.storeDir, p.drvPath);
  const names = p.outputs === 'all' ? [...drv.outputs.keys()] : p.outputs;
  return names
    .map((n) => drv.outputs.get(n)?.path)
    .filter((x): x is string => x !== undefined)
    .map((x) => store.storeDir.parse(x))
    .sort((a, b) => compareUtf8(a.baseName, b.baseName));
}

function outputNameOf(store: Store, p: DerivedPath, out: StorePath): string {
  if (p.kind === 'opaque') return 'out';
  const drv = readDerivation(store.storeDir, p.drvPath);
  for (const [n, o] of drv.outputs) if (o.path === store.storeDir.print(out)) return n;
  return 'out';
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const common = takeCommonFlags(expandShortFlags(args), ctx);
  const flags = parseFlags(common.rest);
  const session = await openBuildSession(ctx, { newCli: false, verbosity: common.verbosity });
  try {
    return await realise(session, flags, ctx);
  } catch (e) {
    return reportBuildError(e, ctx, session.logger);
  } finally {
    await session.close();
  }
}

async function realise(session: BuildSession, flags: RealiseFlags, ctx: CliContext): Promise<number> {
  const { store } = session;
  const cwd = process.cwd();
  let paths = flags.args.map((a) => parseDerivedPathArg(store, a, cwd));
  await printMissing(session, paths);
  if (flags.dryRun) return 0;
  if (flags.ignoreUnknown) {
    const valid: DerivedPath[] = [];
    for (const p of paths) if (await store.isValidPath(p.kind === 'opaque' ? p.path : p.drvPath)) valid.push(p);
    paths = valid;
  }
  await session.buildPaths(paths, flags.mode);
  if (flags.ignoreUnknown) return 0;
  const lines: string[] = [];
  let rootNr = 0;
  for (const p of paths) {
    rootNr++;
    if (flags.addRoot === undefined) {
      session.logger.log(Verbosity.Warn, NO_GC_ROOT_WARNING);
      session.logger.log = wrapOnce(session.logger.log.bind(session.logger));
      for (const o of outputsOf(store, p)) lines.push(store.storeDir.print(o));
      continue;
    }
    for (const o of outputsOf(store, p)) {
      let rootName = flags.addRoot;
      if (paths.length > 1) rootName += `-${rootNr}`;
      const name = outputNameOf(store, p, o);
      if (name !== 'out') rootName += `-${name}`;
      lines.push(await addPermRoot(store, o, rootName.startsWith('/') ? rootName : `${cwd}/${rootName}`));
    }
  }
  ctx.stdout.write(lines.map((l) => l + '\n').join(''));
  return 0;
}

/** The GC warning is printed once per process (Nix `warnOnce`). */
function wrapOnce(log: (level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7, msg: string) => void): typeof log {
  return (level, msg) => {
    if (msg.startsWith(NO_GC_ROOT_WARNING)) return;
    log(level, msg);
  };
}

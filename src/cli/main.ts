/**
 * Multi-call entry point: `tix <command> …`, or a shim named `nix-store`,
 * `nix-build`, … that dispatches on its own name (like Nix's single binary).
 */
import { basename } from 'node:path';
import { Settings, settingWarningsBefore } from '../core/index.js';
import { defaultContext, type CliContext } from './context.js';
import { runModule } from './dispatch.js';
import { reportError } from './report-error.js';

/** Program name → module (relative to this file). */
const PROGRAMS: Record<string, string> = {
  nix: './nix.js',
  'nix-store': './nix-store.js',
  'nix-build': './nix-build.js',
  'nix-instantiate': './nix-instantiate.js',
  'nix-daemon': './nix-daemon.js',
  'nix-hash': './nix-hash.js',
};

/** `tix <sub>` extras beyond the Nix names. */
const TIX_SUBCOMMANDS: Record<string, string> = {
  ...PROGRAMS,
  daemon: './nix-daemon.js',
  log: './tix-log.js',
};

export async function main(programName: string, args: string[], ctx?: CliContext): Promise<number> {
  let name = programName;
  let rest = args;
  if (name === 'tix') {
    if (rest.length === 0 || rest[0] === '--help' || rest[0] === '-h') {
      (ctx?.stdout ?? process.stdout).write(`Usage: tix <${Object.keys(TIX_SUBCOMMANDS).join('|')}> [args…]\n`);
      return rest.length === 0 ? 1 : 0;
    }
    name = rest[0]!;
    rest = rest.slice(1);
  }
  let context: CliContext;
  try {
    context = ctx ?? defaultContext(name);
  } catch (e) {
    // nix.conf/NIX_CONFIG could not be read (a bad value, an illegal line): 2.8 stops before the command line.
    const bare = defaultContext(name, new Settings());
    for (const w of settingWarningsBefore(e)) bare.stderr.write(w + '\n');
    return reportError(e, bare);
  }
  // Warnings nix.conf/NIX_CONFIG gave as they were read (2.8 prints them at start-up).
  for (const w of context.settings.takeSetWarnings()) context.stderr.write(w + '\n');
  const table = programName === 'tix' ? TIX_SUBCOMMANDS : PROGRAMS;
  const mod = table[name];
  try {
    if (mod === undefined) {
      context.stderr.write(`error: unknown command '${name}'\n`);
      return 1;
    }
    return await runModule(mod, name, rest, context);
  } catch (e) {
    return reportError(e, context);
  }
}

/** Used by `bin/*`: run and exit with the status. */
export async function cliEntry(argv0: string, args: string[]): Promise<void> {
  // Let stdout drain before exiting (exitCode, not exit()); pipes would otherwise lose output.
  process.exitCode = await exitWhenUnfinished(main(basename(argv0), args));
}

/**
 * A command whose promise never settles (a lost callback, a stream nobody
 * ends) would let the event loop drain and Node exit 0 mid-work. Treat that
 * as the internal error it is: exit 1 with a message, never a silent success.
 */
export function exitWhenUnfinished(work: Promise<number>): Promise<number> {
  let settled = false;
  const onBeforeExit = (): void => {
    if (settled) return;
    settled = true;
    process.stderr.write('error: internal error: the command stopped before it finished\n');
    process.exitCode = 1;
  };
  process.on('beforeExit', onBeforeExit);
  return work.finally(() => {
    settled = true;
    process.off('beforeExit', onBeforeExit);
  });
}

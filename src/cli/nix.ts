/**
 * `nix <command>`: the new-style CLI. Each (sub)command is a module under
 * `cli/nix/`. Global flags (`--option`, `--extra-experimental-features`, …)
 * may come before or after the command words; command modules receive all
 * non-command-word arguments and parse them with `cli/args.ts`.
 */
import type { CliContext } from './context.js';
import { runModule } from './dispatch.js';
import { applySettingFlag, usageError, warnUnknownSettings } from './args.js';

/** Command words → module. Longest match wins. */
const COMMANDS: Record<string, string> = {
  'hash path': './nix/hash.js',
  'hash file': './nix/hash.js',
  'hash to-base16': './nix/hash.js',
  'hash to-base32': './nix/hash.js',
  'hash to-base64': './nix/hash.js',
  'hash to-sri': './nix/hash.js',
  'store add-path': './nix/store-add.js',
  'store add-file': './nix/store-add.js',
  'store gc': './nix/store-gc.js',
  'store verify': './nix/store-verify.js',
  'store delete': './nix/store-delete.js',
  'store dump-path': './nix/store-dump-path.js',
  'store ls': './nix/store-ls.js',
  'store cat': './nix/store-cat.js',
  'path-info': './nix/path-info.js',
  'store ping': './nix/store-ping.js',
  'store repair': './nix/store-repair.js',
  'store optimise': './nix/store-optimise.js',
  'key generate-secret': './nix/key.js',
  'key convert-secret-to-public': './nix/key.js',
  'show-derivation': './nix/derivation-show.js',
  'derivation show': './nix/derivation-show.js',
  build: './nix/build.js',
  eval: './nix/eval.js',
  log: './nix/log.js',
  'nar dump-path': './nix/store-dump-path.js',
  'nar cat': './nix/store-cat.js',
  'nar ls': './nix/store-ls.js',
  daemon: './nix-daemon.js',
};

/** Flags that take one argument and may precede the command words. */
const GLOBAL_FLAGS_WITH_ARG = new Set(['--store', '--extra-experimental-features', '--experimental-features', '--log-format', '--max-jobs', '-j', '--cores', '-I', '--eval-store']);
const GLOBAL_FLAGS_WITH_TWO = new Set(['--option']);
/** Other flags 2.8 takes before the command (the setting flags aside); any other flag there is a usage error. */
const OTHER_GLOBAL_FLAGS = new Set(['--help', '--version', '--verbose', '--debug', '--quiet', '--print-build-logs', '-L', '--offline', '--refresh']);

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const words: string[] = [];
  const rest: string[] = [];
  let sawPositional = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (words.length === 0 && !sawPositional) {
      // Before the command: settings are applied here, in order, so 2.8's unknown-setting
      // warning (printed on reaching the first positional argument) can name them.
      const applied = applySettingFlag(args, i, ctx);
      if (applied.taken > 0) {
        if (applied.unknown !== undefined) ctx.settings.noteUnknown(applied.unknown);
        i += applied.taken - 1;
        continue;
      }
      if (a.startsWith('-') && !GLOBAL_FLAGS_WITH_ARG.has(a) && !OTHER_GLOBAL_FLAGS.has(a) && !/^-v+$/.test(a)) {
        throw usageError(`unrecognised flag '${a}'`);
      }
      // The first positional argument (a command word too).
      if (!a.startsWith('-')) warnUnknownSettings(ctx);
    }
    if (GLOBAL_FLAGS_WITH_TWO.has(a)) {
      rest.push(a, args[i + 1] ?? '', args[i + 2] ?? '');
      i += 2;
    } else if (GLOBAL_FLAGS_WITH_ARG.has(a)) {
      rest.push(a, args[i + 1] ?? '');
      i += 1;
    } else if (words.length < 2 && !sawPositional && !a.startsWith('-') && isCommandPrefix([...words, a])) {
      words.push(a);
    } else {
      // Command words come before the command's own positional arguments.
      if (!a.startsWith('-')) sawPositional = true;
      rest.push(a);
    }
  }
  warnUnknownSettings(ctx);
  if (args.includes('--version')) {
    ctx.stdout.write('nix (tix) 2.8.0\n');
    return 0;
  }
  const key = words.join(' ');
  const mod = COMMANDS[key];
  if (mod === undefined) {
    // As 2.8 words it: the first positional argument that is no (sub)command, else what is missing.
    const first = rest.find((r) => !r.startsWith('-'));
    if (first !== undefined) throw usageError(`'${first}' is not a recognised command`);
    if (words.length === 0) throw usageError('no subcommand specified');
    const flag = rest.find((r) => r.startsWith('-') && !/^-v+$/.test(r) && !OTHER_GLOBAL_FLAGS.has(r));
    if (flag !== undefined) throw usageError(`unrecognised flag '${flag}'`);
    throw usageError(`'nix ${key}' requires a sub-command.`);
  }
  // 2.8 checks this once the command is known, for every `nix` command.
  ctx.settings.requireExperimental('nix-command');
  return runModule(mod, `nix ${key}`, [...words, ...rest], ctx);
}

function isCommandPrefix(words: string[]): boolean {
  const k = words.join(' ');
  return Object.keys(COMMANDS).some((c) => c === k || c.startsWith(k + ' '));
}

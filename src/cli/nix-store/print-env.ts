/**
 * `nix-store --print-env DRV` (Nix 2.8 nix-store.cc `opPrintEnv`): the
 * derivation's environment as `export NAME; NAME='value'` lines a shell can
 * source, then its arguments joined into `_args`. The argument must be the
 * derivation's exact store path (no symlinks are followed).
 *
 * 2.8 aborts with an assertion failure when the path is not a `.drv`; tix
 * reports it as an error instead (docs/deviations.md).
 */
import { readFileSync } from 'node:fs';
import { NixError, CoreErrorCode } from '../../core/index.js';
import { parseDerivation } from '../../formats/index.js';
import { shellEscape } from '../../build/index.js';
import { openStore } from '../../glue/index.js';
import type { CliContext } from '../context.js';
import { usageError } from './store-common.js';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  if (args.some((a) => a.startsWith('-') && a !== '-')) throw usageError('unknown flag');
  if (args.length !== 1) throw usageError("'--print-env' requires one derivation store path");
  const arg = args[0]!;
  if (!arg.startsWith('/')) throw new NixError(CoreErrorCode.E_USAGE, `not an absolute path: '${arg}'`);
  const store = await openStore({ settings: ctx.settings, dirs: ctx.dirs, env: ctx.env });
  try {
    const drvPath = store.storeDir.parse(arg);
    if (!(await store.isValidPath(drvPath))) {
      throw new NixError('E0201', `path '${arg}' does not exist and cannot be created`);
    }
    if (!drvPath.name.endsWith('.drv')) throw new NixError('E0201', `path '${arg}' is not a derivation`);
    // Read as bytes (latin1 strings) so values that are not UTF-8 come out unchanged.
    const drv = parseDerivation(readFileSync(arg), drvPath.name.slice(0, -4));
    let text = '';
    for (const [k, v] of drv.env) text += `export ${k}; ${k}=${shellEscape(v)}\n`;
    // Like 2.8, each argument is escaped and the escaped list is quoted once more.
    text += `export _args; _args='${drv.args.map(shellEscape).join(' ')}'\n`;
    ctx.stdout.write(Buffer.from(text, 'latin1'));
    return 0;
  } finally {
    await store.close?.();
  }
}

/** Print an error the way Nix does (`error: …`) and choose the exit status. */
import { errorLines, filterLogText, isNixError } from '../core/index.js';
import type { CliContext } from './context.js';

export function reportError(e: unknown, ctx: CliContext): number {
  if (isNixError(e)) {
    const showTrace = ctx.settings.getBool('show-trace', false);
    let text = `${errorLines(e.message)}\n`;
    if (showTrace) for (const t of e.traces) text += `       … ${t}\n`;
    text = filterLogText(text);
    // Nix prints usage hints on their own line, unindented.
    if (e.hint) text += `${e.hint}\n`;
    else if (e.usage) text += `Try '${ctx.programName} --help' for more information.\n`;
    ctx.stderr.write(text);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string') {
    // A system error that escaped a command: still a clear one-line message, never a stack trace.
    ctx.stderr.write(`error: ${err.syscall}${err.path ? ` '${err.path}'` : ''}: ${err.message}\n`);
    return 1;
  }
  const detail = ctx.env.TIX_DEBUG ? (err?.stack ?? String(e)) : (err?.message ?? String(e));
  ctx.stderr.write(`error: internal error: ${detail}\n`);
  return 1;
}

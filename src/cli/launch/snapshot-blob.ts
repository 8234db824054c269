/**
 * Which startup snapshot (scripts/snapshot.mjs) a Node process may start
 * from: the same rule bin/tix applies before its direct exec, used by the
 * pool's manager for its children. A blob only loads into the node binary
 * and V8 flags it was built with (otherwise Node exits 14, no fallback), so
 * it is used only when its name matches this node binary and --stack-size,
 * no other flag or NODE_OPTIONS is in play, the CPU's flags are those it was
 * built on (V8 checks the CPU features too) and it is at least as new as the
 * bundle's main.js beside it.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `snap-<stack KiB>-<dev>-<ino>-<size>-<mtime s>.blob`, hex, as scripts/snapshot.mjs names it. */
export function blobFileName(stackKb: number, nodeBinary: string): string {
  const st = statSync(nodeBinary, { bigint: true });
  return `snap-${stackKb}-${[st.dev, st.ino, st.size, st.mtimeNs / 1_000_000_000n].map((x) => x.toString(16)).join('-')}.blob`;
}

/** The first `flags`/`Features` line of /proc/cpuinfo, as scripts/snapshot.mjs records it beside the blob. */
function cpuFlags(): string {
  try {
    return /^(?:flags|Features)\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1').slice(0, 8192))?.[1] ?? '';
  } catch {
    return '';
  }
}

/**
 * The blob for a process like this one (`execArgv`, `env`) serving the
 * bundle whose entry is `bundleMain`, or undefined to start from the bundle.
 */
export function usableBlob(bundleMain: string, execArgv: readonly string[], env: NodeJS.ProcessEnv, nodeBinary: string): string | undefined {
  if (env.TIX_SNAPSHOT === '0' || env.TIX_BUNDLE === '0' || (env.NODE_OPTIONS ?? '') !== '') return undefined;
  const m = execArgv.length === 1 ? /^--stack-size=(\d+)$/.exec(execArgv[0]!) : null;
  if (!m) return undefined;
  try {
    // The real directory: the blob of this build even after dist/bundle is switched to a newer one.
    const dir = realpathSync(dirname(bundleMain));
    const blob = join(dir, blobFileName(Number(m[1]), nodeBinary));
    if (readFileSync(`${blob}.cpu`, 'latin1') !== cpuFlags()) return undefined;
    return statSync(blob, { bigint: true }).mtimeNs >= statSync(join(dir, basename(bundleMain)), { bigint: true }).mtimeNs ? blob : undefined;
  } catch {
    return undefined;
  }
}

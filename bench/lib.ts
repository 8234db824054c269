/** Small pieces every benchmark uses: command-line flags and the median of a sample. */

/** The value after flag `name` on the command line, or `def`. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : def;
}

/** The upper median (for an even count, the larger middle value). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

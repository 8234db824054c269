/**
 * "Did you mean …?" hints (Nix 2.8 `Suggestions::bestMatches(...).trim()`):
 * candidates ordered by Levenshtein distance then name, at most 5, distance ≤ 2.
 */

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

export function didYouMean(query: string, candidates: Iterable<string>): string | null {
  const scored: Array<[number, string]> = [];
  for (const c of candidates) {
    const d = levenshtein(query, c);
    if (d <= 2) scored.push([d, c]);
  }
  if (scored.length === 0) return null;
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  const names = scored.slice(0, 5).map((s) => s[1]);
  if (names.length === 1) return `Did you mean ${names[0]}?`;
  return `Did you mean one of ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}?`;
}

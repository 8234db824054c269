/** Error codes are stable and never reused across layers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './harness/index.js';

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/errors\.ts$/.test(p)) out.push(p);
  }
  return out;
}

test('every error code is unique', () => {
  const seen = new Map<string, string>();
  const dups: string[] = [];
  for (const f of walk(join(REPO_ROOT, 'src'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\b(E_[A-Z0-9_]+):\s*'(E\d{4})'/g)) {
      const prev = seen.get(m[2]!);
      if (prev) dups.push(`${m[2]} used by ${prev} and ${m[1]} (${f})`);
      seen.set(m[2]!, m[1]!);
    }
  }
  assert.ok(seen.size > 0);
  assert.deepEqual(dups, []);
});

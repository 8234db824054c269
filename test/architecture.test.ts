/**
 * Enforces the layer arrows of shared/design/architecture.md by reading every
 * import in src/ with a regex. A violation names the file, the import and the rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { REPO_ROOT } from './harness/index.js';

const SRC = join(REPO_ROOT, 'src');

/** layer → layers it may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  formats: ['core'],
  eval: ['core', 'formats'],
  store: ['core', 'formats'],
  build: ['core', 'formats', 'store'],
  protocol: ['core', 'formats', 'store'],
  glue: ['core', 'formats', 'eval', 'store', 'build', 'protocol'],
  cli: ['core', 'formats', 'eval', 'store', 'build', 'protocol', 'glue'],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

function layerOf(file: string): string {
  return relative(SRC, file).split(sep)[0]!;
}

function violations(): string[] {
  const bad: string[] = [];
  for (const file of walk(SRC)) {
    const from = layerOf(file);
    const rel = relative(REPO_ROOT, file);
    const isTest = file.endsWith('.test.ts');
    for (const spec of importsOf(file)) {
      if (spec === 'better-sqlite3' && !rel.endsWith(join('store', 'local', 'db.ts')) && !isTest) {
        bad.push(`${rel}: imports better-sqlite3; only src/store/local/db.ts may`);
      }
      if (from === 'formats' && !isTest && spec.startsWith('node:') && spec !== 'node:crypto' && spec !== 'node:buffer') {
        bad.push(`${rel}: formats is pure but imports ${spec}`);
      }
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const to = relative(SRC, target).split(sep)[0]!;
      if (to.startsWith('..')) {
        if (!isTest) bad.push(`${rel}: imports ${spec} from outside src/`);
        continue;
      }
      if (to === from) continue;
      if (!(ALLOWED[from] ?? []).includes(to)) {
        bad.push(`${rel}: layer '${from}' may not import '${to}' (${spec})`);
        continue;
      }
      const inner = relative(join(SRC, to), target);
      const okEntry = inner === 'index.js' || (from === 'protocol' && to === 'store' && inner === 'store.js');
      if (!okEntry) bad.push(`${rel}: must import ${to}/index.js, not the internal module ${spec}`);
    }
    if (from === 'formats' && !isTest) {
      const text = readFileSync(file, 'utf8');
      if (/\bprocess\.(env|argv|exit|stdout|stderr|cwd)\b|\bset(Timeout|Interval|Immediate)\(/.test(text)) {
        bad.push(`${rel}: formats is pure but touches process state or timers`);
      }
    }
  }
  return bad;
}

test('imports follow the layer arrows', () => {
  assert.deepEqual(violations(), []);
});

test('the checker catches a violation', () => {
  // Guard against a regex that silently matches nothing.
  const sample = "import { x } from '../store/index.js';\nexport * from './a.js';\nconst m = await import('./b.js');";
  const found = [...sample.matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2] ?? m[3]);
  assert.deepEqual(found, ['../store/index.js', './a.js', './b.js']);
  assert.ok(!ALLOWED.eval!.includes('store'), 'eval must never import store');
});

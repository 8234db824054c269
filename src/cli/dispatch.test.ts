/**
 * The bundle (scripts/bundle.mjs) only contains command modules reached by a
 * literal import() in dispatch.ts's table. A command module that exists but is
 * missing from the table would be loaded from dist/src beside the bundle, with
 * its own copies of core (NixError, settings): this test keeps the table whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bundledCommandModules, loadCommand } from './dispatch.js';

const CLI_SRC = fileURLToPath(new URL('../../../src/cli/', import.meta.url));
const TABLES = ['main.ts', 'nix.ts', 'nix-store.ts'];

function referencedModules(): Set<string> {
  const out = new Set<string>();
  for (const f of TABLES) {
    const text = readFileSync(join(CLI_SRC, f), 'utf8');
    for (const m of text.matchAll(/:\s*'(\.\/[a-z0-9/-]+\.js)'/g)) out.add(m[1]!);
  }
  return out;
}

const sourceOf = (rel: string) => join(CLI_SRC, rel.replace(/\.js$/, '.ts'));

test('every existing command module has a literal loader; none names a missing file', () => {
  const table = new Set(bundledCommandModules());
  const referenced = referencedModules();
  assert.ok(referenced.size > 20, `found only ${referenced.size} command modules in ${TABLES.join(', ')}`);
  for (const rel of referenced) {
    assert.equal(table.has(rel), existsSync(sourceOf(rel)), `${rel}: add it to (or remove it from) LOADERS in src/cli/dispatch.ts`);
  }
  for (const rel of table) assert.ok(existsSync(sourceOf(rel)), `${rel} is in LOADERS but src/cli/${rel} does not exist`);
});

test('a command module that does not exist answers "not implemented yet"', async () => {
  await assert.rejects(loadCommand('./nix-store/no-such-op.js', 'nix-store --no-such-op'), /'nix-store --no-such-op' is not implemented yet/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings, loadSettings } from './settings.js';
import { NixError } from './errors.js';

function loaded(text: string): Settings {
  const s = new Settings();
  s.loadText(text, 'test');
  return s;
}

test('unknown names from configuration text: sorted, once each; known, alias, list extra- and tix names silent', () => {
  const s = loaded('zeta = 1\nalpha = 2\nzeta = 3\nextra-foo = 1\nextra-max-jobs = 2\nextra-substituters = x\nbuild-cores = 2\nfsync-store-paths = true\nrecursive-nix-max-depth = 3\n');
  assert.deepEqual(s.takeUnknownWarnings(), [
    "warning: unknown setting 'alpha'",
    "warning: unknown setting 'extra-foo'",
    "warning: unknown setting 'extra-max-jobs'",
    "warning: unknown setting 'zeta'",
  ]);
  // Once per command: later calls and later names give nothing.
  s.noteUnknown('late');
  assert.deepEqual(s.takeUnknownWarnings(), []);
});

test('a bad value in configuration text is a usage error with 2.8\'s message; the setting keeps its value', () => {
  const cases: [string, string][] = [
    ['keep-going = x', "Boolean setting 'keep-going' has invalid value 'x'"],
    ['max-jobs = ', "configuration setting 'max-jobs' should be 'auto' or an integer"],
    ['sandbox = yes', "option 'sandbox' has invalid value 'yes'"],
    ['cores = 1K', "setting 'cores' has invalid value '1K'"],
    ['keep-going', "illegal configuration line 'keep-going' in 'test'"],
  ];
  for (const [line, msg] of cases) {
    const s = new Settings();
    s.set('keep-going', 'true');
    assert.throws(() => s.loadText(line, 'test'), (e: unknown) => e instanceof NixError && e.message === msg && e.usage, line);
    assert.equal(s.getBool('keep-going', false), true);
  }
});

test('setUser: checks, sets, reports whether 2.8 knows the name; unknown extra- names are not applied', () => {
  const s = new Settings();
  assert.equal(s.setUser('max-jobs', '3'), true);
  assert.equal(s.setUser('extra-max-jobs', '5'), false);
  assert.equal(s.getInt('max-jobs', 1), 3);
  assert.equal(s.setUser('foo', 'bar'), false);
  assert.equal(s.getString('foo', ''), 'bar');
  assert.throws(() => s.setUser('max-jobs', 'x'), /should be 'auto' or an integer/);
  assert.equal(s.getInt('max-jobs', 1), 3);
  assert.equal(s.setUser('extra-trusted-users', 'bob'), true);
  assert.deepEqual(s.getList('trusted-users', ['root']), ['root', 'bob']);
});

test('loadSettings reads nix.conf then NIX_CONFIG and collects unknown names from both', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-settings-'));
  try {
    writeFileSync(join(dir, 'nix.conf'), 'b-unknown = 1\ncores = 2\n');
    const s = loadSettings({ NIX_CONF_DIR: dir, NIX_CONFIG: 'a-unknown = 1\ncores = 3' });
    assert.equal(s.getInt('cores', 0), 3);
    assert.deepEqual(s.takeUnknownWarnings(), ["warning: unknown setting 'a-unknown'", "warning: unknown setting 'b-unknown'"]);
    assert.throws(() => loadSettings({ NIX_CONF_DIR: dir, NIX_CONFIG: 'cores = x' }), /setting 'cores' has invalid value 'x'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown experimental features are warned about as they are set, once per value', () => {
  const s = loaded('experimental-features = nix-command x x\nextra-experimental-features = flakes fetch-closure y\n');
  assert.deepEqual(s.takeSetWarnings(), ["warning: unknown experimental feature 'x'", "warning: unknown experimental feature 'y'"]);
  assert.deepEqual(s.takeSetWarnings(), []);
});

test('include: relative to the including file, named that way when missing; !include may be missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-settings-'));
  try {
    writeFileSync(join(dir, 'nix.conf'), 'include sub/a.conf\n!include nope.conf\n');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.conf'), 'include b.conf\n');
    writeFileSync(join(dir, 'sub', 'b.conf'), 'cores = 5\n');
    assert.equal(loadSettings({ NIX_CONF_DIR: dir }).getInt('cores', 0), 5);
    writeFileSync(join(dir, 'sub', 'a.conf'), 'include c.conf\n');
    assert.throws(() => loadSettings({ NIX_CONF_DIR: dir }), { message: `file '${join(dir, 'sub', 'c.conf')}' included from '${join(dir, 'sub', 'a.conf')}' not found` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a value given through an alias is kept under the setting itself, so readers need one name', () => {
  const s = new Settings();
  assert.equal(s.setUser('build-max-log-size', '100'), true);
  assert.equal(s.getInt('max-build-log-size', 0), 100);
  s.setUser('binary-caches', 'a');
  s.setUser('extra-binary-caches', 'b');
  assert.deepEqual(s.getList('substituters', []), ['a', 'b']);
  s.setUser('max-build-log-size', '7');
  assert.equal(s.getInt('max-build-log-size', 0), 7, 'the later value wins, as for one setting');
  assert.equal(s.has('build-max-log-size'), false);
});

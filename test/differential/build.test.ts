/**
 * Differential builds: every case of build-cases.nix is instantiated and
 * realised with `nix-store -r` by the reference Nix 2.8 and by tix, each in a
 * fresh root at the SAME directory (store paths depend on it). Compared: drv
 * paths, exit codes, stdout, the first error line, the stored build logs, and
 * the whole registration (`nix-store --dump-db`: paths, NAR hashes, sizes,
 * derivers, references). Also: the reference `nix-store --verify
 * --check-contents` accepts tix's store, and no build dir is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, haveReference, makeRoot, normalise, runRef, runIn, REF_BIN, TIX_BIN, type NixRoot, type RunResult } from '../harness/index.js';
import { CASES, FRONT_CASES } from './build-case-list.js';

const ALL_ATTRS = [...new Set(CASES.flatMap((k) => k.attrs))];

interface CaseResult {
  status: number;
  stdout: string;
  errors: string;
}

interface ImplResult {
  drvs: Map<string, string>;
  cases: Map<string, CaseResult>;
  dumpDb: string;
  logs: Map<string, string>;
  leftovers: string[];
  verify: RunResult;
}

function instantiate(root: NixRoot, file: string): Map<string, string> {
  const args = [file, ...ALL_ATTRS.flatMap((a) => ['-A', a])];
  const r = runRef(root, 'nix-instantiate', args);
  assert.equal(r.status, 0, r.stderr);
  const paths = r.stdout.trim().split('\n');
  assert.equal(paths.length, ALL_ATTRS.length);
  return new Map(ALL_ATTRS.map((a, i) => [a, paths[i]!]));
}

/** Error lines (Nix prints the interesting part after `error: `), normalised. */
function errorLines(stderr: string, root: NixRoot): string {
  return normalise(stderr, root)
    .split('\n')
    .filter((l) => l.startsWith('error:') || l.startsWith('       >') || l.startsWith('         '))
    .join('\n');
}

/** Split `--dump-db` output into per-path groups, sorted, so order does not matter. */
function groups(dump: string): string[] {
  const lines = dump.split('\n').filter((l) => l !== '');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const n = Number(lines[i + 4]);
    const group = lines.slice(i, i + 5 + n).join('\n');
    // `nondet` differs between any two builds by design.
    if (!lines[i]!.endsWith('-nondet')) out.push(group);
    i += 5 + n;
  }
  return out.sort();
}

function runImpl(bin: string, dir: string, casesFile: string): ImplResult {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  try {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    // Builders start with posix_spawn (the default); where that is unavailable, through the perl
    // spawn helper from the first build (its own unit test covers it either way).
    const env = { TMPDIR: tmp, TIX_IMPURE_TEST: 'impure-value', TIX_SPAWN_HELPER: 'always' };
    copyFileSync(casesFile, join(dir, 'build-cases.nix'));
    const drvs = instantiate(root, join(dir, 'build-cases.nix'));
    const cases = new Map<string, CaseResult>();
    for (const k of CASES) {
      const r = runIn(bin, root, 'nix-store', ['-r', ...k.attrs.map((a) => drvs.get(a)!), ...(k.flags ?? [])], { env, timeoutMs: 120_000 });
      cases.set(k.id, { status: r.status, stdout: normalise(r.stdout, root), errors: errorLines(r.stderr, root) });
    }
    const dumpDb = normalise(runRef(root, 'nix-store', ['--dump-db']).stdout, root);
    const logs = new Map<string, string>();
    for (const [a, d] of drvs) {
      const r = runRef(root, 'nix-store', ['-l', d]);
      logs.set(a, r.status === 0 ? normalise(r.stdout, root) : `<no log: ${r.status}>`);
    }
    const verify = runRef(root, 'nix-store', ['--verify', '--check-contents']);
    const leftovers = existsSync(tmp) ? readdirSync(tmp) : [];
    return { drvs, cases, dumpDb, logs, leftovers, verify };
  } finally {
    root.cleanup();
  }
}

test('builds match the reference Nix 2.8', { skip: !haveReference() ? 'no reference nix' : false, timeout: 600_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-build-diff-'));
  const dir = join(base, 'r');
  const casesFile = join(REPO_ROOT, 'test/differential/build-cases.nix');
  try {
    const ref = runImpl(REF_BIN, dir, casesFile);
    const tix = runImpl(TIX_BIN, dir, casesFile);
    assert.ok(CASES.length >= 40);
    await t.test('drv paths', () => assert.deepEqual([...tix.drvs], [...ref.drvs]));
    for (const k of CASES) {
      await t.test(`case ${k.id}`, () => {
        const a = ref.cases.get(k.id)!;
        const b = tix.cases.get(k.id)!;
        assert.equal(b.status, a.status, `exit status of ${k.id}\nref: ${a.errors}\ntix: ${b.errors}`);
        assert.equal(b.stdout, a.stdout, `stdout of ${k.id}`);
        assert.equal(b.errors, a.errors, `error lines of ${k.id}`);
      });
    }
    await t.test('registrations (paths, NAR hashes, sizes, derivers, references)', () => {
      assert.deepEqual(groups(tix.dumpDb), groups(ref.dumpDb));
    });
    await t.test('build logs', () => {
      for (const a of ALL_ATTRS) {
        // nondet differs by design; 2.8 logs a mangled serialised error for a missing builder.
        if (a === 'nondet' || a === 'noBuilder') continue;
        assert.equal(tix.logs.get(a), ref.logs.get(a), `log of ${a}`);
      }
    });
    await t.test('reference verifies tix store', () => assert.equal(tix.verify.status, 0, tix.verify.stderr));
    await t.test('no leftover build directories', () => assert.deepEqual(tix.leftovers, []));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

function links(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('result') || n === 'ph').sort();
}

function runFront(bin: string, dir: string, casesFile: string): Map<string, CaseResult & { links: string[] }> {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir });
  const out = new Map<string, CaseResult & { links: string[] }>();
  try {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    copyFileSync(casesFile, join(dir, 'build-cases.nix'));
    for (const k of FRONT_CASES) {
      const r = runIn(bin, root, k.prog, k.args, { env: { TMPDIR: tmp }, timeoutMs: 120_000 });
      out.set(k.id, { status: r.status, stdout: normalise(r.stdout, root), errors: errorLines(r.stderr, root), links: links(dir) });
    }
    return out;
  } finally {
    root.cleanup();
  }
}

test('nix-build and nix build match the reference Nix 2.8', { skip: !haveReference() ? 'no reference nix' : false, timeout: 600_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-build-front-'));
  const dir = join(base, 'r');
  const casesFile = join(REPO_ROOT, 'test/differential/build-cases.nix');
  try {
    const ref = runFront(REF_BIN, dir, casesFile);
    const tix = runFront(TIX_BIN, dir, casesFile);
    for (const k of FRONT_CASES) {
      await t.test(k.id, () => {
        const a = ref.get(k.id)!;
        const b = tix.get(k.id)!;
        assert.equal(b.status, a.status, `exit status\nref: ${a.errors}\ntix: ${b.errors}`);
        if (k.id !== 'nix build --rebuild') assert.equal(b.stdout, a.stdout);
        assert.equal(b.errors, a.errors);
        assert.deepEqual(b.links, a.links);
      });
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

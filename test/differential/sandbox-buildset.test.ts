/**
 * The builder's differential set (build-cases.nix, cases and flags as in
 * build.test.ts) rerun with `sandbox = true` on both tix and the reference
 * Nix 2.8, with sandbox-paths providing bash and coreutils. Each case is
 * realised by each implementation in a fresh root at the same directory, in
 * build.test.ts's order and with its flags (`--check`, `-j 2`, `--keep-going`,
 * timeouts); attributes of build-cases.nix that no case names are built on
 * their own afterwards, so new cases are covered too. Compared: exit status,
 * stdout, error lines, build logs, the whole registration (`--dump-db`: paths,
 * NAR hashes, sizes, references); the reference verifies tix's store; nothing
 * is left behind (build dirs, `<drv>.chroot` dirs, per-build sandbox state).
 * The front ends (`nix-build`, `nix build`, each with its own evaluator) are
 * compared the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, haveReference, makeRoot, normalise, runRef, runIn, REF_BIN, TIX_BIN, type NixRoot, type RunResult } from '../harness/index.js';
import { sandboxAvailability } from '../../src/build/sandbox/index.js';
import { CASES, FRONT_CASES, c, type Case } from './build-case-list.js';

const CONF = ['sandbox = true', 'sandbox-fallback = false', 'sandbox-paths = /bin /usr /lib /lib64'].join('\n');

/** Attributes that need a flag to terminate when built on their own. */
const ALONE_FLAGS: Record<string, string[]> = { timesOut: ['--timeout', '1'] };

/** Outputs that differ between any two builds by design. */
const NONDET = /-(nondet|smulti|smulti-dev)$/;

/**
 * 2.8 bug (docs/deviations.md): in sandboxed builds it points NIX_ATTRS_SH_FILE /
 * NIX_ATTRS_JSON_FILE at the host build dir, which the builder cannot see, so a
 * structured-attrs builder that sources `$NIX_ATTRS_SH_FILE` fails; tix gives
 * the sandbox path (`/build/.attrs.sh`). Expected: the reference fails that
 * way, tix builds it.
 */
const ATTRS_FILE_BUG = new Set(['structuredMulti']);
/**
 * Logs that differ by design (docs/sandbox.md): for a builder that cannot be
 * executed, sandboxed 2.8 writes its raw serialised error frame into the log
 * ("\x01\n" + binary); tix's log has bwrap's line instead. Status and
 * error lines are still compared.
 */
const LOG_DIFFERS = new Set(['noBuilder']);
/** Logs of nondeterministic builds (and of `--check` reruns of them) differ by design. */
const LOG_NONDET = new Set(['nondet']);

interface Result {
  status: number;
  stdout: string;
  errors: string;
}

function errorLines(stderr: string, root: NixRoot): string {
  return normalise(stderr, root)
    .split('\n')
    .filter((l) => l.startsWith('error:') || l.startsWith('       >') || l.startsWith('         '))
    .join('\n');
}

function attrNames(root: NixRoot, file: string): string[] {
  const r = runRef(root, 'nix-instantiate', ['--eval', '--json', '-E', `builtins.attrNames (import ${file})`]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

/** Groups of `--dump-db` minus nondeterministic outputs, sorted. */
function groups(dump: string): string[] {
  const lines = dump.split('\n').filter((l) => l !== '');
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const n = Number(lines[i + 4]);
    if (!NONDET.test(lines[i]!)) out.push(lines.slice(i, i + 5 + n).join('\n'));
    i += 5 + n;
  }
  return out.sort();
}

/**
 * What a build may leave behind: build dirs in TMPDIR, `<drv>.chroot` dirs in
 * the store, and anything in `<store>/.tix-sandbox` but its shared mount
 * points and default /etc.
 */
function leftovers(root: NixRoot, tmp: string): string[] {
  const store = root.env.NIX_STORE_DIR!;
  const out = existsSync(tmp) ? readdirSync(tmp).map((n) => `tmp/${n}`) : [];
  for (const n of readdirSync(store)) if (n.endsWith('.chroot') || n.includes('.chroot.')) out.push(`store/${n}`);
  const shared = join(store, '.tix-sandbox');
  const allowed = new Set(['view', 'lower', 'store-ro', 'etc-default', 'active', 'trash', 'spare']);
  if (existsSync(shared)) {
    for (const n of readdirSync(shared)) if (!allowed.has(n) && !/^probe-\d+$/.test(n)) out.push(`store/.tix-sandbox/${n}`);
    for (const d of ['view', 'lower', 'store-ro', 'active', 'trash']) {
      if (existsSync(join(shared, d))) for (const n of readdirSync(join(shared, d))) out.push(`store/.tix-sandbox/${d}/${n}`);
    }
  }
  return out.sort();
}

interface ImplResult {
  cases: Case[];
  results: Map<string, Result>;
  dumpDb: string;
  logs: Map<string, string>;
  verify: RunResult;
  leftovers: string[];
}

function runImpl(bin: string, dir: string): ImplResult {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir, conf: CONF });
  try {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const env = { TMPDIR: tmp, TIX_IMPURE_TEST: 'impure-value' };
    const file = join(dir, 'build-cases.nix');
    copyFileSync(join(REPO_ROOT, 'test/differential/build-cases.nix'), file);
    const all = attrNames(root, file);
    const named = new Set(CASES.flatMap((k) => k.attrs));
    const cases = [
      ...CASES.filter((k) => k.attrs.every((a) => all.includes(a))),
      ...all.filter((a) => !named.has(a)).map((a) => c(`alone:${a}`, ALONE_FLAGS[a], [a])),
    ];
    const attrs = [...new Set(cases.flatMap((k) => k.attrs))];
    const inst = runRef(root, 'nix-instantiate', [file, ...attrs.flatMap((a) => ['-A', a])]);
    assert.equal(inst.status, 0, inst.stderr);
    const drvList = inst.stdout.trim().split('\n');
    const drvs = new Map(attrs.map((a, i) => [a, drvList[i]!]));
    const results = new Map<string, Result>();
    for (const k of cases) {
      const r = runIn(bin, root, 'nix-store', ['-r', ...k.attrs.map((a) => drvs.get(a)!), ...(k.flags ?? [])], { env, timeoutMs: 120_000 });
      results.set(k.id, { status: r.status, stdout: normalise(r.stdout, root), errors: errorLines(r.stderr, root) });
    }
    const logs = new Map<string, string>();
    for (const [a, d] of drvs) {
      const l = runRef(root, 'nix-store', ['-l', d]);
      logs.set(a, l.status === 0 ? normalise(l.stdout, root) : `<no log: ${l.status}>`);
    }
    const dumpDb = normalise(runRef(root, 'nix-store', ['--dump-db']).stdout, root);
    const verify = runRef(root, 'nix-store', ['--verify', '--check-contents']);
    return { cases, results, dumpDb, logs, verify, leftovers: leftovers(root, tmp) };
  } finally {
    root.cleanup();
  }
}

/** Can tix build at all (sandbox off)? On a checkout without the builder, this test is not about the sandbox. */
function tixCanBuild(): boolean {
  const root = makeRoot();
  try {
    const inst = runRef(root, 'nix-instantiate', ['--expr', 'derivation { name = "t"; system = builtins.currentSystem; builder = "/bin/sh"; args = ["-c" "echo > $out"]; }']);
    return inst.status === 0 && runIn(TIX_BIN, root, 'nix-store', ['--realise', inst.stdout.trim()], { timeoutMs: 30_000 }).status === 0;
  } finally {
    root.cleanup();
  }
}

const avail = sandboxAvailability();
const skip = !haveReference()
  ? 'no reference Nix'
  : !avail.ok
    ? `sandbox unavailable: ${avail.reason}`
    : !tixCanBuild()
      ? 'tix cannot build unsandboxed yet (no builder in this checkout)'
      : false;

test('the builder differential set, sandboxed, matches the reference', { skip, timeout: 900_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-sbset-'));
  const dir = join(base, 'r');
  try {
    const ref = runImpl(REF_BIN, dir);
    const tix = runImpl(TIX_BIN, dir);
    assert.ok(ref.cases.length >= 60, `only ${ref.cases.length} cases`);
    assert.deepEqual(tix.cases.map((k) => k.id), ref.cases.map((k) => k.id));
    for (const k of ref.cases) {
      await t.test(k.id, () => {
        const x = ref.results.get(k.id)!;
        const y = tix.results.get(k.id)!;
        if (k.attrs.some((a) => ATTRS_FILE_BUG.has(a))) {
          assert.notEqual(x.status, 0, 'the reference was expected to fail (NIX_ATTRS_SH_FILE bug)');
          assert.equal(y.status, 0, `tix: ${y.errors}`);
          return;
        }
        assert.equal(y.status, x.status, `exit status of ${k.id}\nref: ${x.errors}\ntix: ${y.errors}`);
        assert.equal(y.stdout, x.stdout, `stdout of ${k.id}`);
        assert.equal(y.errors, x.errors, `error lines of ${k.id}`);
      });
    }
    for (const a of ref.logs.keys()) {
      if (LOG_NONDET.has(a)) continue;
      await t.test(`log of ${a}`, () => {
        if (ATTRS_FILE_BUG.has(a)) assert.match(ref.logs.get(a)!, /\.attrs\.sh: No such file or directory/);
        else if (LOG_DIFFERS.has(a)) assert.match(tix.logs.get(a)!, /execvp .*: No such file or directory/);
        else assert.equal(tix.logs.get(a), ref.logs.get(a));
      });
    }
    await t.test('registrations (paths, NAR hashes, sizes, references)', () => assert.deepEqual(groups(tix.dumpDb), groups(ref.dumpDb)));
    await t.test('reference verifies tix store', () => assert.equal(tix.verify.status, 0, tix.verify.stderr));
    await t.test('nothing left behind (build dirs, chroots, sandbox state)', () => assert.deepEqual(tix.leftovers, []));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

function runFront(bin: string, dir: string): { results: Map<string, Result & { links: string[] }>; leftovers: string[] } {
  mkdirSync(dir, { recursive: true });
  const root = makeRoot({ dir, conf: CONF });
  const results = new Map<string, Result & { links: string[] }>();
  try {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    copyFileSync(join(REPO_ROOT, 'test/differential/build-cases.nix'), join(dir, 'build-cases.nix'));
    for (const k of FRONT_CASES) {
      const r = runIn(bin, root, k.prog, k.args, { env: { TMPDIR: tmp }, timeoutMs: 120_000 });
      const links = readdirSync(dir).filter((n) => n.startsWith('result') || n === 'ph').sort();
      results.set(k.id, { status: r.status, stdout: normalise(r.stdout, root), errors: errorLines(r.stderr, root), links });
    }
    return { results, leftovers: leftovers(root, tmp) };
  } finally {
    root.cleanup();
  }
}

test('nix-build and nix build, sandboxed, match the reference', { skip, timeout: 600_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-sbfront-'));
  const dir = join(base, 'r');
  try {
    const ref = runFront(REF_BIN, dir);
    const tix = runFront(TIX_BIN, dir);
    for (const k of FRONT_CASES) {
      await t.test(k.id, () => {
        const a = ref.results.get(k.id)!;
        const b = tix.results.get(k.id)!;
        assert.equal(b.status, a.status, `exit status\nref: ${a.errors}\ntix: ${b.errors}`);
        assert.equal(b.stdout, a.stdout);
        assert.equal(b.errors, a.errors);
        assert.deepEqual(b.links, a.links);
      });
    }
    await t.test('nothing left behind', () => assert.deepEqual(tix.leftovers, []));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

/**
 * Settings the user writes (nix.conf, NIX_CONFIG, `--option`, setting flags),
 * run as real processes under the reference Nix 2.8 and tix: stderr and exit
 * status must agree.
 *
 * - `warning: unknown setting 'NAME'`: sorted, one per name, configuration
 *   and command-line names merged, printed when 2.8 reaches the first
 *   positional argument (so not for options after it, nor when a parse error
 *   comes first); aliases and `extra-` of list settings are known.
 * - Values checked when set: `--option NAME BAD` warns `warning: error: …`
 *   and goes on; a bad value in nix.conf/NIX_CONFIG or given to a setting
 *   flag is a usage error.
 *
 * tix's own settings (fsync-store-paths, recursive-nix-*) are unknown to
 * 2.8, which warns about them; tix must not: those lines are taken out of the
 * reference's stderr, and tix's stderr must not name them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, type NixRoot } from '../harness/index.js';

const BASE_CONF = 'build-users-group =\nsubstituters =\nsandbox = false\nexperimental-features = nix-command recursive-nix\n';
const TIX_OWN = ['fsync-store-paths', 'recursive-nix-fixed-output', 'recursive-nix-max-depth', 'max-log-size'];
const HASH = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881';

interface Case {
  prog: string;
  args: string[];
  /** Extra nix.conf lines. */
  conf?: string;
  NIX_CONFIG?: string;
  /** Compare only the warning lines (the rest is another layer's: the daemon protocol at EOF). */
  warningsOnly?: boolean;
}

/** A command per program that succeeds or fails the same way in both, after its flags. */
const RUNS: Record<string, string[]> = {
  'nix-instantiate': ['--eval', '-E', '1'],
  'nix-store': ['-q', '--hash', '/nonexistent'],
  'nix-build': ['./missing.nix'],
  'nix-hash': ['--type', 'sha256', '--to-base32', HASH],
  nix: ['eval', '--expr', '1'],
};
const PROGS = Object.keys(RUNS);

/** `nix` takes its settings before the command word here; the others before their arguments. */
function withFlags(prog: string, flags: string[]): string[] {
  return [...flags, ...RUNS[prog]!];
}

const CASES: Case[] = [
  // Unknown names from each origin, for each program.
  ...PROGS.map((prog) => ({ prog, args: withFlags(prog, ['--option', 'foo', '1']) })),
  ...PROGS.map((prog) => ({ prog, args: withFlags(prog, []), conf: 'zeta = 1\nextra-foo = 2' })),
  ...PROGS.map((prog) => ({ prog, args: withFlags(prog, []), NIX_CONFIG: 'gamma = 1' })),
  // Merged, sorted, each name once; aliases and list extra- known; extra- of a non-list unknown.
  ...PROGS.map((prog) => ({
    prog,
    args: withFlags(prog, ['--option', 'zeta', '1', '--option', 'mid', '2', '--option', 'zeta', '3', '--option', 'build-cores', '1',
      '--option', 'extra-binary-caches', '', '--option', 'extra-max-jobs', '1', '--option', 'extra-sandbox', 'true', '--option', 'binary-cache-public-keys', '']),
    conf: 'zeta = 1\nalpha = 1\nextra-sandbox-paths = /x\nbuild-use-substitutes = true\ngc-keep-outputs = false',
    NIX_CONFIG: 'beta = 1\nalpha = 2\nextra-trusted-users = bob',
  })),
  // tix's own settings: 2.8 warns, tix must not.
  ...PROGS.map((prog) => ({
    prog,
    args: withFlags(prog, ['--option', 'recursive-nix-max-depth', '4', '--option', 'foo', '1']),
    conf: 'fsync-store-paths = true\nrecursive-nix-fixed-output = allow\nmax-log-size = 1000000',
  })),
  // Where 2.8 prints the warning: not for options after the first positional argument,
  // not when a parse error comes first; before a later usage error.
  { prog: 'nix-instantiate', args: ['--eval', '-E', '1', '--option', 'foo', '1'] },
  { prog: 'nix-instantiate', args: ['--option', 'foo', '1', '--eval', '-E', '--option', 'bar', '1', '1', '--option', 'baz', '1'] },
  { prog: 'nix-instantiate', args: ['--option', 'foo', '1', '--bogus'] },
  { prog: 'nix-instantiate', args: ['--option', 'foo', '1', '--eval', '-E', '1', '--bogus'] },
  { prog: 'nix-instantiate', args: ['--option', 'foo', '1', '--version'] },
  { prog: 'nix-store', args: ['-q', '--hash', '/nonexistent', '--option', 'foo', '1'] },
  { prog: 'nix-store', args: ['--option', 'foo', '1', '-q', '--bogus'] },
  { prog: 'nix-store', args: ['--option', 'foo', '1'] },
  { prog: 'nix-store', args: ['--bogus'], NIX_CONFIG: 'foo = 1' },
  { prog: 'nix-build', args: ['--option', 'foo', '1', '--bogus'] },
  { prog: 'nix-build', args: ['--option', 'foo', '1', '-E', 'x', '--option', 'bar', '1'] },
  { prog: 'nix-hash', args: ['--option', 'foo', '1', '--bogus'] },
  { prog: 'nix-hash', args: ['--type', 'sha256', '--option', 'foo', '1', '--to-base32', HASH, '--option', 'bar', '1'] },
  { prog: 'nix', args: ['--option', 'foo', '1', '--bogus'] },
  { prog: 'nix', args: ['--bogus'], NIX_CONFIG: 'foo = 1' },
  { prog: 'nix', args: ['--option', 'foo', '1', 'eval', '--bogus'] },
  { prog: 'nix', args: ['--option', 'foo', '1'] },
  { prog: 'nix', args: ['--option', 'foo', '1', 'bogus'] },
  { prog: 'nix', args: ['eval', '--option', 'foo', '1', '--expr', '1'] },
  { prog: 'nix', args: ['--option', 'foo', '1', 'eval', '--option', 'bar', '1', '--expr', '1'] },
  { prog: 'nix-daemon', args: ['--option', 'foo', '1', '--bogus'] },
  { prog: 'nix-daemon', args: ['--option', 'foo', '1', '--stdio'] },
  // No client at all: 2.8's --stdio fails reading the handshake.
  { prog: 'nix-daemon', args: ['--stdio'] },
  // Setting flags after the first positional argument report in 2.8's order: after the
  // unknown-setting warning, and after (or before) the command's own parse errors.
  ...[
    ['nix-instantiate', '--eval', '-E', '1', '-j', 'x'],
    ['nix-instantiate', '--eval', '-E', '1', '--option', 'max-jobs', 'x', '--option', 'experimental-features', 'q'],
    ['nix-instantiate', '-j', 'x', '--bogus'],
    ['nix-instantiate', '--bogus', '-j', 'x'],
    ['nix-instantiate', '--eval', '-E', '1', '--option'],
    ['nix-instantiate', '-j', 'x', '--version'],
    ['nix-build', './missing.nix', '--cores', 'x'],
    ['nix-build', '--cores', 'x', '--bogus'],
    ['nix-hash', '--type', 'sha256', '--to-base32', HASH, '-j', 'x'],
    ['nix-hash', '--type', 'sha256', '--to-base32', HASH, '--option', 'cores', 'x'],
    ['nix-daemon', '--bogus', '-j', 'x'],
    ['nix-daemon', '-j', 'x', '--bogus'],
    ['nix-store', '-q', '--hash', '/nonexistent', '-j', 'x'],
    ['nix', 'eval', '--expr', '1', '-j', 'x'],
  ].map(([prog, ...args]) => ({ prog: prog!, args, conf: 'zz = 1' })),
  // Bad values given with --option: a warning, and the command goes on.
  ...PROGS.flatMap((prog) => [
    ['keep-going', 'x'], ['cores', 'x'], ['max-jobs', 'x'], ['sandbox', 'yes'], ['timeout', '1.5'], ['build-max-jobs', '-1'], ['log-lines', ''],
  ].map(([n, v]) => ({ prog, args: withFlags(prog, ['--option', n!, v!, '--option', 'foo', '1']) }))),
  { prog: 'nix-store', args: ['--option', 'max-jobs', 'x', '-q', '--bogus'] },
  { prog: 'nix', args: ['eval', '--option', 'keep-going', 'x', '--expr', '1'] },
  // Bad values in nix.conf and NIX_CONFIG: usage errors, before anything else.
  ...PROGS.flatMap((prog) => [
    { prog, args: withFlags(prog, []), conf: 'keep-going = x' },
    { prog, args: withFlags(prog, []), conf: 'foo = 1\nmax-jobs =' },
    { prog, args: withFlags(prog, []), NIX_CONFIG: 'sandbox = 1' },
    { prog, args: withFlags(prog, ['--bogus']), NIX_CONFIG: 'build-cores = 1K' },
    { prog, args: withFlags(prog, []), NIX_CONFIG: 'keep-going' },
  ]),
  { prog: 'nix-daemon', args: ['--stdio'], NIX_CONFIG: 'timeout = x' },
  { prog: 'nix-instantiate', args: RUNS['nix-instantiate']!, conf: 'include missing.conf' },
  { prog: 'nix-store', args: RUNS['nix-store']!, conf: 'experimental-features = x\nfoo = 1\nkeep-going = x' },
  { prog: 'nix-instantiate', args: RUNS['nix-instantiate']!, conf: '!include missing.conf\nfoo = 1 # comment\n  bar   =  a  b ' },
  // Bad values given to setting flags: usage errors.
  ...PROGS.flatMap((prog) => [
    ['-j', 'x'], ['--max-jobs', '-1'], ['--cores', 'x'], ['--cores', '1.5K'], ['--cores', '4194304K'], ['--timeout', 'x'],
    ['--max-silent-time', '1KK'], ['--cores', ''],
  ].map((flag) => ({ prog, args: withFlags(prog, flag) }))),
  { prog: 'nix-store', args: ['-jx', '-q', '--hash', '/nonexistent'] },
  { prog: 'nix', args: ['eval', '-j', 'x', '--expr', '1'] },
  // Any setting by name as a flag (not its aliases; extra- only for lists; --no- only for Booleans).
  ...PROGS.flatMap((prog) => [
    ['--log-lines', '5'], ['--log-lines', 'x'], ['--http-connections', '-1'], ['--extra-substituters', ''], ['--no-keep-going'],
    ['--relaxed-sandbox'], ['--no-fsync-metadata'], ['--pure-eval', '--no-pure-eval'], ['--build-cores', '2'],
    ['--extra-binary-caches', 'x'], ['--extra-max-jobs', '1'], ['--no-log-lines'], ['--connect-timeout'],
  ].map((flag) => ({ prog, args: withFlags(prog, flag) }))),
  // Unknown experimental features: warned as the value is set (before the unknown-setting warnings).
  ...PROGS.map((prog) => ({
    prog,
    args: withFlags(prog, ['--option', 'experimental-features', 'x x nix-command', '--option', 'foo', '1', '--extra-experimental-features', 'y flakes']),
    NIX_CONFIG: 'extra-experimental-features = z recursive-nix',
  })),
  // Good values through the same paths stay silent.
  ...PROGS.map((prog) => ({ prog, args: withFlags(prog, ['-j', 'auto', '--cores', '1K', '--timeout', '2M', '--option', 'sandbox', 'relaxed', '--option', 'keep-going', 'yes']) })),
  // Every `nix` command needs nix-command, checked once the command is known.
  { prog: 'nix', args: ['eval', '--expr', '1'], conf: 'experimental-features = recursive-nix' },
  { prog: 'nix', args: ['store', 'ping'], conf: 'experimental-features =' },
  { prog: 'nix', args: ['path-info', '/nonexistent'], conf: 'experimental-features =' },
  { prog: 'nix', args: ['--extra-experimental-features', 'nix-command', 'eval', '--expr', '1'], conf: 'experimental-features =' },
  { prog: 'nix', args: ['bogus'], conf: 'experimental-features =' },
];

function run(root: NixRoot, c: Case, ref: boolean): { status: number; stdout: string; stderr: string } {
  writeFileSync(join(root.confDir, 'nix.conf'), BASE_CONF + (c.conf ?? '') + '\n');
  const env = c.NIX_CONFIG === undefined ? {} : { NIX_CONFIG: c.NIX_CONFIG };
  const r = (ref ? runRef : runTix)(root, c.prog, c.args, { env, input: '', timeoutMs: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function refStderr(stderr: string, prog: string, refBin: string): string {
  return stderr
    .split(`${refBin}/${prog}`).join(prog)
    .split('\n')
    .filter((l) => !TIX_OWN.some((n) => l === `warning: unknown setting '${n}'`))
    .join('\n');
}

test('settings: unknown-setting warnings and value checks agree with Nix 2.8', { skip: !haveReference() && 'reference Nix not installed', timeout: 300_000 }, async () => {
  const { REF_BIN } = await import('../harness/index.js');
  const root = makeRoot();
  try {
    const diffs: string[] = [];
    for (const c of CASES) {
      const what = `${c.conf ? `[nix.conf: ${JSON.stringify(c.conf)}] ` : ''}${c.NIX_CONFIG ? `[NIX_CONFIG: ${JSON.stringify(c.NIX_CONFIG)}] ` : ''}${c.prog} ${c.args.join(' ')}`;
      const ref = run(root, c, true);
      const tix = run(root, c, false);
      const want = refStderr(ref.stderr, c.prog, REF_BIN);
      const warnings = (t: string): string => t.split('\n').filter((l) => l.startsWith('warning:')).join('\n');
      const same = c.warningsOnly
        ? warnings(want) === warnings(tix.stderr) && warnings(want) !== ''
        : ref.status === tix.status && want === tix.stderr && ref.stdout === tix.stdout;
      if (!same) {
        diffs.push(`${what}\n  ref (${ref.status}): ${JSON.stringify(want)} ${JSON.stringify(ref.stdout)}\n  tix (${tix.status}): ${JSON.stringify(tix.stderr)} ${JSON.stringify(tix.stdout)}`);
      }
      for (const n of TIX_OWN) assert.ok(!tix.stderr.includes(`'${n}'`), `${what}: tix warned about its own setting ${n}`);
    }
    assert.deepEqual(diffs, []);
  } finally {
    root.cleanup();
  }
});

test('settings: the cases exercise what they claim (the reference warns and fails where expected)', { skip: !haveReference() && 'reference Nix not installed', timeout: 120_000 }, () => {
  // Guards against a harness that would compare two silent runs: a few cases must show
  // 2.8's texts in the reference's own output.
  const root = makeRoot();
  try {
    const probe = (c: Case): string => run(root, c, true).stderr;
    assert.match(probe({ prog: 'nix-instantiate', args: ['--option', 'zeta', '1', '--option', 'alpha', '1', '--eval', '-E', '1'] }), /unknown setting 'alpha'\nwarning: unknown setting 'zeta'/);
    assert.match(probe({ prog: 'nix-store', args: RUNS['nix-store']!, conf: 'fsync-store-paths = true' }), /unknown setting 'fsync-store-paths'/);
    assert.match(probe({ prog: 'nix', args: ['-j', 'x', ...RUNS.nix!] }), /^error: configuration setting 'max-jobs' should be 'auto' or an integer\nTry /);
    assert.equal(run(root, { prog: 'nix-hash', args: withFlags('nix-hash', ['--option', 'cores', 'x']) }, true).status, 0);
  } finally {
    root.cleanup();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { NixError, Settings, nixDirs } from '../core/index.js';
import { commonFlagArity, reachArg, takeCommonFlags, warnUnknownSettings } from './args.js';
import type { CliContext } from './context.js';

function context(programName = 'nix-store', settings = new Settings()): { ctx: CliContext; err: () => string } {
  let text = '';
  const stderr = new Writable({ write: (c, _e, cb) => { text += String(c); cb(); } });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const ctx: CliContext = { programName, env: {}, settings, dirs: nixDirs({}), stdout: sink, stderr, stdin: Readable.from([]) };
  return { ctx, err: () => text };
}

test('flag arity: --option, named settings (not aliases), extra- of lists only, Boolean flags take none', () => {
  const cases: [string, number][] = [
    ['--option', 2], ['-j', 1], ['--max-jobs', 1], ['--cores', 1], ['--log-lines', 1], ['--store', 1],
    ['--extra-substituters', 1], ['--extra-max-jobs', 0], ['--extra-binary-caches', 0], ['--build-cores', 0],
    ['--keep-going', 0], ['--no-keep-going', 0], ['--pure-eval', 0], ['--no-log-lines', 0], ['--sandbox', 0],
    ['--recursive-nix-max-depth', 1], ['--bogus', 0], ['-A', 0], ['x', 0],
  ];
  for (const [flag, n] of cases) assert.equal(commonFlagArity(flag), n, flag);
});

test('takeCommonFlags applies settings in order and keeps the rest', () => {
  const { ctx } = context();
  const r = takeCommonFlags(['-q', '--option', 'max-jobs', '3', '--no-keep-going', 'p', '--log-lines', '7', '--relaxed-sandbox', '-vv', '--cores', '2K'], ctx);
  assert.deepEqual(r.rest, ['-q', 'p']);
  assert.equal(r.verbosity, 5);
  assert.equal(ctx.settings.getInt('max-jobs', 1), 3);
  assert.equal(ctx.settings.getBool('keep-going', true), false);
  assert.equal(ctx.settings.getInt('log-lines', 0), 7);
  assert.equal(ctx.settings.getString('sandbox', ''), 'relaxed');
  assert.equal(ctx.settings.getInt('cores', 0), 2048);
});

test('--option with a bad value warns "warning: error: …" and keeps the old value; a setting flag with one is a usage error', () => {
  const { ctx, err } = context();
  takeCommonFlags(['--option', 'max-jobs', '2', '--option', 'max-jobs', 'x', '--option', 'keep-going', 'on'], ctx);
  assert.equal(err(), "warning: error: configuration setting 'max-jobs' should be 'auto' or an integer\nwarning: error: Boolean setting 'keep-going' has invalid value 'on'\n");
  assert.equal(ctx.settings.getInt('max-jobs', 1), 2);
  const cases: [string, string[], string][] = [
    ['nix-store', ['-j', 'x'], "configuration setting 'max-jobs' should be 'auto' or an integer"],
    ['nix-store', ['--cores', 'x'], "invalid unit specifier 'X'"],
    ['nix-store', ['--timeout', '1.5'], "'1.5' is not an integer"],
    ['nix-store', ['--cores', '4194304K'], "setting 'cores' has invalid value '4294967296'"],
    ['nix', ['--cores', '1K'], "setting 'cores' has invalid value '1K'"],
    ['nix', ['--log-lines', '-1'], "setting 'log-lines' has invalid value '-1'"],
  ];
  for (const [prog, args, msg] of cases) {
    const c = context(prog).ctx;
    assert.throws(() => takeCommonFlags(args, c), (e: unknown) => e instanceof NixError && e.usage && e.message === msg, args.join(' '));
  }
});

test('unknown settings: only those before the given positional argument, with configuration names, sorted, once', () => {
  const settings = new Settings();
  settings.loadText('zeta = 1\n', 'test');
  const { ctx, err } = context('nix-instantiate', settings);
  const common = takeCommonFlags(['--option', 'mid', '1', '--option', 'recursive-nix-max-depth', '2', '--eval', 'f', '--option', 'late', '1', '--option', 'alpha', '1'], ctx);
  assert.deepEqual(common.unknownSettings, [['mid', 0], ['late', 2], ['alpha', 2]]);
  warnUnknownSettings(ctx, common, 1); // the first positional, `f`, is rest[1]
  warnUnknownSettings(ctx, common);
  assert.equal(err(), "warning: unknown setting 'mid'\nwarning: unknown setting 'zeta'\n");
});

test('deferred setting flags report at their place among the command\'s own arguments', () => {
  const settings = new Settings();
  settings.loadText('zz = 1\n', 'test');
  const { ctx, err } = context('nix-instantiate', settings);
  const common = takeCommonFlags(['--option', 'cores', 'x', 'f', '--option', 'max-jobs', 'y', 'g', '-j', 'z', 'h'], ctx, undefined, { defer: true });
  assert.deepEqual(common.rest, ['f', 'g']); // parsing stops at the bad flag value, as 2.8's does
  assert.equal(err(), '');
  warnUnknownSettings(ctx, common, 0);
  assert.equal(err(), "warning: error: setting 'cores' has invalid value 'x'\nwarning: unknown setting 'zz'\n");
  reachArg(ctx, common, 1);
  assert.equal(err(), "warning: error: setting 'cores' has invalid value 'x'\nwarning: unknown setting 'zz'\nwarning: error: configuration setting 'max-jobs' should be 'auto' or an integer\n");
  assert.throws(() => reachArg(ctx, common, 2), (e: unknown) => e instanceof NixError && e.usage && /max-jobs/.test(e.message));
});

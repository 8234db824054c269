import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NIX_SETTINGS, SETTING_ALIASES, isKnownSetting, parseUnitFlagValue, settingType, settingValueError } from './known-settings.js';

test('the table holds 2.8 show-config\'s 91 settings and 22 aliases, each alias naming one of them', () => {
  assert.equal(NIX_SETTINGS.size, 91);
  assert.equal(SETTING_ALIASES.size, 22);
  for (const [alias, target] of SETTING_ALIASES) assert.ok(NIX_SETTINGS.has(target), `${alias} → ${target}`);
});

test('known names: settings, aliases, tix\'s own; extra- only for lists', () => {
  const cases: [string, boolean][] = [
    ['max-jobs', true], ['sandbox', true], ['build-max-jobs', true], ['gc-keep-outputs', true],
    ['fsync-store-paths', true], ['max-log-size', true], ['recursive-nix-max-depth', true], ['recursive-nix-fixed-output', true],
    ['extra-substituters', true], ['extra-binary-caches', true], ['extra-build-sandbox-paths', true],
    ['extra-experimental-features', true], ['extra-trusted-users', true],
    ['extra-max-jobs', false], ['extra-sandbox', false], ['extra-foo', false], ['extra-build-max-jobs', false],
    ['foo', false], ['log-format', false], ['impure', false], ['quiet', false], ['', false],
  ];
  for (const [name, known] of cases) assert.equal(isKnownSetting(name), known, name);
});

test('values checked when set, with 2.8\'s messages', () => {
  const cases: [string, string, string | undefined][] = [
    ['keep-going', 'x', "Boolean setting 'keep-going' has invalid value 'x'"],
    ['keep-going', '', "Boolean setting 'keep-going' has invalid value ''"],
    ['keep-going', 'on', "Boolean setting 'keep-going' has invalid value 'on'"],
    ['keep-going', 'yes', undefined], ['keep-going', '0', undefined], ['keep-going', 'false', undefined],
    ['gc-keep-outputs', 'x', "Boolean setting 'keep-outputs' has invalid value 'x'"],
    ['build-use-substitutes', 'x', "Boolean setting 'substitute' has invalid value 'x'"],
    ['cores', 'x', "setting 'cores' has invalid value 'x'"],
    ['cores', '-1', "setting 'cores' has invalid value '-1'"],
    ['cores', '4294967296', "setting 'cores' has invalid value '4294967296'"],
    ['cores', '4294967295', undefined], ['cores', '+1', undefined], ['cores', '007', undefined],
    ['cores', ' 1', "setting 'cores' has invalid value ' 1'"],
    ['build-cores', '1.5', "setting 'cores' has invalid value '1.5'"],
    ['log-lines', '18446744073709551615', undefined],
    ['log-lines', '18446744073709551616', "setting 'log-lines' has invalid value '18446744073709551616'"],
    ['log-lines', '-0', "setting 'log-lines' has invalid value '-0'"],
    ['timeout', '-1', undefined], ['timeout', '-0', undefined],
    ['timeout', '9223372036854775808', "setting 'timeout' has invalid value '9223372036854775808'"],
    ['build-timeout', '', "setting 'timeout' has invalid value ''"],
    ['max-jobs', 'auto', undefined], ['max-jobs', '4', undefined],
    ['max-jobs', '-1', "configuration setting 'max-jobs' should be 'auto' or an integer"],
    ['build-max-jobs', 'x', "configuration setting 'max-jobs' should be 'auto' or an integer"],
    ['sandbox', 'relaxed', undefined], ['sandbox', 'true', undefined],
    ['sandbox', '1', "option 'sandbox' has invalid value '1'"],
    ['build-use-sandbox', 'yes', "option 'sandbox' has invalid value 'yes'"],
    ['store', 'anything', undefined], ['substituters', '', undefined], ['extra-substituters', 'x', undefined],
    ['foo', 'x', undefined], ['extra-max-jobs', 'x', undefined],
    ['fsync-store-paths', 'x', "Boolean setting 'fsync-store-paths' has invalid value 'x'"],
    ['recursive-nix-max-depth', 'x', "setting 'recursive-nix-max-depth' has invalid value 'x'"],
  ];
  for (const [name, value, msg] of cases) assert.equal(settingValueError(name, value), msg, `${name} = ${value}`);
});

test('--cores/--timeout/--max-silent-time values: unit suffixes and 2.8\'s messages', () => {
  const cases: [string, string | { error: string }][] = [
    ['1', '1'], ['1K', '1024'], ['1k', '1024'], ['2M', String(2 << 20)], ['1G', String(1 << 30)], ['1T', '1099511627776'],
    ['+1', '1'], ['00', '0'],
    ['x', { error: "invalid unit specifier 'X'" }], ['1 ', { error: "invalid unit specifier ' '" }],
    ['1.5', { error: "'1.5' is not an integer" }], ['1.5K', { error: "'1.5' is not an integer" }],
    ['', { error: "'' is not an integer" }], ['K', { error: "'' is not an integer" }],
    ['-1', { error: "'-1' is not an integer" }], ['1KK', { error: "'1K' is not an integer" }],
    ['0x1', { error: "'0x1' is not an integer" }],
  ];
  for (const [v, want] of cases) {
    assert.deepEqual(parseUnitFlagValue(v), typeof want === 'string' ? { value: want } : want, v);
  }
});

test('types of a few settings and aliases', () => {
  assert.equal(settingType('max-jobs'), 'max-jobs');
  assert.equal(settingType('binary-caches'), 'list');
  assert.equal(settingType('store'), 'string');
  assert.equal(settingType('nope'), undefined);
});

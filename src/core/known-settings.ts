/**
 * The settings Nix 2.8 knows, and how it checks a value when one is set
 * (libutil/config.cc `Config::set`, `GlobalConfig`): which names draw
 * "warning: unknown setting 'NAME'", and the messages for bad values.
 *
 * Facts measured against the reference (Nix 2.8.0, /usr/bin) in an isolated
 * root, not taken from its source: the names are the 91 that
 * `nix show-config` prints (one multi-call binary, so every program knows
 * the same set); the aliases are the names `--option` accepts beyond those
 * (and the setting `nix show-config --option ALIAS v` changes); each type
 * comes from `--option NAME BAD` for BAD in x, -1, -0, +1, 2^31, 2^32, 2^63,
 * 2^64, yes/no/1/0/true/false/relaxed/auto, and `extra-NAME` is known only
 * for the settings that accept it without a warning (the list settings).
 * Settings whose bad values 2.8 reports only where they are used
 * (build-hook, store, plugin-files, …) are typed as strings here.
 *
 * tix's own settings (docs/deviations.md, docs/recursive-builds.md) are
 * known too, so tix never warns about them; 2.8 does.
 */

export type SettingType =
  | 'bool'
  | 'u32' // unsigned int
  | 'u64' // uint64_t / size_t
  | 'i64' // time_t / int64_t
  | 'max-jobs' // 'auto' or an unsigned int
  | 'sandbox' // true | false | relaxed
  | 'list'
  | 'string';

const BOOLS = [
  'accept-flake-config', 'allow-dirty', 'allow-import-from-derivation', 'allow-new-privileges',
  'allow-symlinked-store', 'allow-unsafe-native-code-during-evaluation', 'auto-optimise-store',
  'builders-use-substitutes', 'compress-build-log', 'enforce-determinism', 'eval-cache', 'fallback',
  'filter-syscalls', 'fsync-metadata', 'http2', 'impersonate-linux-26', 'keep-build-log',
  'keep-derivations', 'keep-env-derivations', 'keep-failed', 'keep-going', 'keep-outputs',
  'preallocate-contents', 'print-missing', 'pure-eval', 'require-sigs', 'restrict-eval',
  'run-diff-hook', 'sandbox-fallback', 'show-trace', 'substitute', 'sync-before-registering',
  'trace-function-calls', 'use-case-hack', 'use-registries', 'use-sqlite-wal', 'warn-dirty',
];
const U32 = ['build-poll-interval', 'cores', 'download-attempts', 'narinfo-cache-negative-ttl', 'narinfo-cache-positive-ttl', 'tarball-ttl'];
const U64 = [
  'connect-timeout', 'http-connections', 'log-lines', 'max-build-log-size', 'max-free', 'min-free',
  'min-free-check-interval', 'nar-buffer-size', 'repeat', 'stalled-download-timeout',
];
const I64 = ['gc-reserved-space', 'max-silent-time', 'timeout'];
const LISTS = [
  'access-tokens', 'allowed-impure-host-deps', 'allowed-uris', 'allowed-users', 'experimental-features',
  'extra-platforms', 'hashed-mirrors', 'ignored-acls', 'nix-path', 'plugin-files', 'sandbox-paths',
  'secret-key-files', 'substituters', 'system-features', 'trusted-public-keys', 'trusted-substituters',
  'trusted-users',
];
const STRINGS = [
  'bash-prompt', 'bash-prompt-suffix', 'build-hook', 'build-users-group', 'builders',
  'commit-lockfile-summary', 'diff-hook', 'flake-registry', 'netrc-file', 'post-build-hook',
  'pre-build-hook', 'sandbox-build-dir', 'sandbox-dev-shm-size', 'store', 'system', 'user-agent-suffix',
];

function typed(names: string[], type: SettingType): [string, SettingType][] {
  return names.map((n) => [n, type]);
}

/** The 91 settings of 2.8's `nix show-config`, with their types. */
export const NIX_SETTINGS: ReadonlyMap<string, SettingType> = new Map([
  ...typed(BOOLS, 'bool'), ...typed(U32, 'u32'), ...typed(U64, 'u64'), ...typed(I64, 'i64'),
  ...typed(LISTS, 'list'), ...typed(STRINGS, 'string'),
  ['max-jobs', 'max-jobs'], ['sandbox', 'sandbox'],
]);

/** 2.8's deprecated names → the setting they set (messages name the setting). */
export const SETTING_ALIASES: ReadonlyMap<string, string> = new Map([
  ['binary-cache-public-keys', 'trusted-public-keys'],
  ['binary-caches', 'substituters'],
  ['binary-caches-parallel-connections', 'http-connections'],
  ['build-chroot-dirs', 'sandbox-paths'],
  ['build-compress-log', 'compress-build-log'],
  ['build-cores', 'cores'],
  ['build-fallback', 'fallback'],
  ['build-impersonate-linux-26', 'impersonate-linux-26'],
  ['build-keep-log', 'keep-build-log'],
  ['build-max-jobs', 'max-jobs'],
  ['build-max-log-size', 'max-build-log-size'],
  ['build-max-silent-time', 'max-silent-time'],
  ['build-repeat', 'repeat'],
  ['build-sandbox-paths', 'sandbox-paths'],
  ['build-timeout', 'timeout'],
  ['build-use-chroot', 'sandbox'],
  ['build-use-sandbox', 'sandbox'],
  ['build-use-substitutes', 'substitute'],
  ['env-keep-derivations', 'keep-env-derivations'],
  ['gc-keep-derivations', 'keep-derivations'],
  ['gc-keep-outputs', 'keep-outputs'],
  ['trusted-binary-caches', 'trusted-substituters'],
]);

/** tix's own settings (not in 2.8): see docs/deviations.md and docs/recursive-builds.md. */
export const TIX_SETTINGS: ReadonlyMap<string, SettingType> = new Map([
  ['fsync-store-paths', 'bool'],
  // The serve protocol's name for 2.8's max-build-log-size, which tix's builds also read from the settings.
  ['max-log-size', 'u64'],
  ['recursive-nix-fixed-output', 'string'],
  ['recursive-nix-max-depth', 'u32'],
]);

/** The setting `name` sets (through an alias) and its type; undefined when unknown. */
function resolve(name: string): { setting: string; type: SettingType } | undefined {
  const setting = SETTING_ALIASES.get(name) ?? name;
  const type = NIX_SETTINGS.get(setting) ?? TIX_SETTINGS.get(setting);
  return type === undefined ? undefined : { setting, type };
}

/** The name a value given as `name` is kept under: an alias's setting, `extra-` kept
 *  (2.8's aliases set the setting itself, so readers need only its own name). */
export function canonicalSettingName(name: string): string {
  if (name.startsWith('extra-')) {
    const alias = SETTING_ALIASES.get(name.slice(6));
    return alias === undefined ? name : `extra-${alias}`;
  }
  return SETTING_ALIASES.get(name) ?? name;
}

/** Whether 2.8 (or tix, for its own settings) accepts `name`; `extra-NAME` only for list settings. */
export function isKnownSetting(name: string): boolean {
  if (name.startsWith('extra-')) return resolve(name.slice(6))?.type === 'list';
  return resolve(name) !== undefined;
}

/** The type of the setting `name` sets (through an alias), for flags that take a value. */
export function settingType(name: string): SettingType | undefined {
  return resolve(name)?.type;
}

const RANGES: Record<'u32' | 'u64' | 'i64', [bigint, bigint]> = {
  u32: [0n, 4294967295n],
  u64: [0n, 18446744073709551615n],
  i64: [-9223372036854775808n, 9223372036854775807n],
};

/** 2.8's integer parse: an optional sign (only `+` when unsigned), digits, in range. */
export function parseIntSetting(v: string, type: 'u32' | 'u64' | 'i64'): bigint | undefined {
  if (!(type === 'i64' ? /^[+-]?\d+$/ : /^\+?\d+$/).test(v)) return undefined;
  const n = BigInt(v);
  const [lo, hi] = RANGES[type];
  return n < lo || n > hi ? undefined : n;
}

/**
 * The message 2.8 gives when `value` is set for `name`, or undefined when
 * the value is accepted (or `name` is unknown, or a list/string setting).
 */
export function settingValueError(name: string, value: string): string | undefined {
  if (name.startsWith('extra-')) return undefined; // only list settings take extra-
  const r = resolve(name);
  if (r === undefined) return undefined;
  const { setting, type } = r;
  switch (type) {
    case 'bool':
      return ['true', 'false', 'yes', 'no', '1', '0'].includes(value) ? undefined : `Boolean setting '${setting}' has invalid value '${value}'`;
    case 'u32':
    case 'u64':
    case 'i64':
      return parseIntSetting(value, type) === undefined ? `setting '${setting}' has invalid value '${value}'` : undefined;
    case 'max-jobs':
      return value === 'auto' || parseIntSetting(value, 'u32') !== undefined ? undefined : `configuration setting 'max-jobs' should be 'auto' or an integer`;
    case 'sandbox':
      return ['true', 'false', 'relaxed'].includes(value) ? undefined : `option '${setting}' has invalid value '${value}'`;
    default:
      return undefined;
  }
}

const UNITS: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n };

/**
 * 2.8's `--cores`, `--timeout`, `--max-silent-time` flags: a non-negative
 * integer with an optional K/M/G/T suffix (either case), as a decimal string;
 * the setting then checks the result. Returns the value or the message.
 */
export function parseUnitFlagValue(v: string): { value: string } | { error: string } {
  let digits = v;
  let factor = 1n;
  const last = v.slice(-1);
  if (v !== '' && !/\d/.test(last)) {
    const unit = last.toUpperCase();
    if (UNITS[unit] === undefined) return { error: `invalid unit specifier '${unit}'` };
    factor = UNITS[unit]!;
    digits = v.slice(0, -1);
  }
  const n = parseIntSetting(digits, 'u64');
  if (n === undefined) return { error: `'${digits}' is not an integer` };
  return { value: String(n * factor) };
}

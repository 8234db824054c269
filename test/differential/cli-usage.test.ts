/**
 * Usage errors (a flag without its argument, an unknown flag) of every
 * command, run as real processes under the reference Nix 2.8 and tix:
 * stderr and exit status must agree. 2.8 words them two ways: its `Args`
 * parser (`nix …`, and flags every command shares such as `--option` and
 * `--arg`) says "flag 'X' requires N argument(s)"; the legacy commands'
 * own flags say "'X' requires an argument".
 *
 * The hint line names the program as it was invoked; the harness runs both
 * by full path, and tix names the base name (docs/deviations.md), so the
 * directory is taken off before comparing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { haveReference, makeRoot, REF_BIN, TIX_BIN } from '../harness/index.js';

const CMDS: string[][] = [
  ['nix-build', '-A'],
  ['nix-build', '-o'],
  ['nix-build', '--arg', 'x'],
  ['nix-build', '--option', 'x'],
  ['nix-build', '--bogus'],
  ['nix-instantiate', '-A'],
  ['nix-instantiate', '--add-root'],
  ['nix-instantiate', '--eval', '-I'],
  ['nix-instantiate', '--argstr', 'a'],
  ['nix-instantiate', '--bogus'],
  ['nix-store', '-r', '--add-root'],
  ['nix-store', '--gc', '--max-freed'],
  ['nix-store', '-q', '--references', '--option'],
  // Before any operation, and with values that look like one (2.8 parses in order).
  ['nix-store', '--store'],
  ['nix-store', '--add-root'],
  ['nix-store', '-r', '--max-jobs'],
  ['nix-store', '--option', 'foo'],
  ['nix-store', '-j'],
  ['nix-store', '--extra-experimental-features'],
  ['nix-store', '--max-links'],
  ['nix-store', '--gc', '--max-atime'],
  ['nix-store', '-q', '--add-root'],
  ['nix-store', '--store', '-q'],
  ['nix-store', '--add-root', '--help'],
  ['nix-store', '--', '--store'],
  ['nix-hash', '--type'],
  ['nix-hash', '--bogus'],
  ['nix-hash', '--type', 'foo', 'x'],
  ['nix', 'eval', '--expr'],
  ['nix', 'eval', '--file'],
  ['nix', 'eval', '--apply'],
  ['nix', 'eval', '--argstr', 'a'],
  ['nix', 'eval', '--bogus'],
  ['nix', 'build', '-o'],
  ['nix', 'build', '--arg', 'a'],
  ['nix', 'hash', 'file', '--type'],
  ['nix', 'hash', 'file', '--type', 'foo', 'x'],
  ['nix', 'hash', 'to-base32', '--type', 'md4', 'x'],
  ['nix', 'store', 'add-path', '--name'],
  ['nix', 'key', 'generate-secret', '--key-name'],
];

/** stderr with the invoked program's directory taken off the hint line. */
function normalise(stderr: string, bin: string): string {
  return stderr.split(`Try '${bin}/`).join("Try '");
}

test('usage errors agree with Nix 2.8', { skip: !haveReference() && 'reference Nix not installed', timeout: 120_000 }, () => {
  const root = makeRoot();
  try {
    const diffs: string[] = [];
    for (const [prog, ...args] of CMDS) {
      const run = (bin: string) => {
        const r = spawnSync(join(bin, prog!), args, { env: root.env, cwd: root.dir, encoding: 'utf8', timeout: 60_000 });
        return { status: r.status, stderr: normalise(r.stderr, bin) };
      };
      const ref = run(REF_BIN);
      const tix = run(TIX_BIN);
      // A usage error must be one: the reference's message, and a failure.
      assert.notEqual(ref.status, 0, `reference accepted ${prog} ${args.join(' ')}`);
      if (ref.status !== tix.status || ref.stderr !== tix.stderr) {
        diffs.push(`${prog} ${args.join(' ')}\n  ref (${ref.status}): ${JSON.stringify(ref.stderr)}\n  tix (${tix.status}): ${JSON.stringify(tix.stderr)}`);
      }
    }
    assert.deepEqual(diffs, []);
  } finally {
    rmSync(root.dir, { recursive: true, force: true });
  }
});

/**
 * `builtins.storePath` against the reference Nix 2.8, both evaluating in the
 * same root: a path that is not itself a store path has its symlinks
 * resolved first (`./result`, a relative link to it, a path below a store
 * path), a missing component is 2.8's "getting status of" error without a
 * position (which `tryEval` does not catch), and a malformed store path is
 * the store's own error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runIn, runRef, REF_BIN, TIX_BIN } from '../harness/index.js';

test('builtins.storePath resolves symlinks and fails as 2.8 does', { skip: !haveReference() ? 'no reference nix' : false, timeout: 120_000 }, async (t) => {
  const root = makeRoot();
  try {
    writeFileSync(join(root.dir, 'f'), 'x');
    const added = runRef(root, 'nix-store', ['--add', join(root.dir, 'f')]);
    assert.equal(added.status, 0, added.stderr);
    const p = added.stdout.trim();
    symlinkSync(p, join(root.dir, 'result'));
    symlinkSync('result', join(root.dir, 'rel'));
    symlinkSync('loop2', join(root.dir, 'loop1'));
    symlinkSync('loop1', join(root.dir, 'loop2'));
    const fake = `${root.storeDir}/0123456789abcdfghijklmnpqrsvwxyz-foo`;
    const exprs = [
      `builtins.storePath ${root.dir}/result`,
      `builtins.storePath ${root.dir}/rel`,
      `builtins.storePath ${p}`,
      `builtins.storePath ${fake}`,
      `builtins.storePath ${fake}/bin`,
      `builtins.storePath ${root.dir}/nothere`,
      `builtins.tryEval (builtins.storePath ${root.dir}/nothere)`,
      `builtins.storePath (builtins.storeDir + "/abc")`,
      `builtins.storePath ${root.dir}/f`,
    ];
    for (const e of exprs) {
      const [ref, tix] = [REF_BIN, TIX_BIN].map((bin) => {
        const r = runIn(bin, root, 'nix-instantiate', ['--eval', '-E', e], { timeoutMs: 60_000 });
        return normalise(`status ${r.status}\n${r.stdout}${r.stderr}`, root);
      });
      await t.test(normalise(e, root), () => assert.equal(tix, ref));
    }
  } finally {
    root.cleanup();
  }
});

/**
 * A build started by an evaluation (import from derivation) shows its
 * progress as the command's own builds do, as in 2.8: the legacy commands
 * print "building …" and the builder's output, `nix eval` the failure's last
 * log lines. Compared with the reference on status, stdout and whole stderr
 * (a failing build, so both runs build it).
 */
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRoot, haveReference } from '../harness/index.js';
import { sameOnRoot } from '../harness/compare.js';

test('import-from-derivation builds log as the command\'s builds do', { skip: !haveReference(), timeout: 120_000 }, () => {
  const root = makeRoot();
  try {
    const file = join(root.dir, 'ifd.nix');
    writeFileSync(file, 'import (derivation { name = "ifd-fails"; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" "echo from-the-builder; exit 1" ]; })\n');
    sameOnRoot(root, 'nix-build', ['--no-out-link', file]);
    sameOnRoot(root, 'nix-instantiate', ['--read-write-mode', '--eval', file]);
    sameOnRoot(root, 'nix-instantiate', [file]);
    sameOnRoot(root, 'nix', ['eval', '-f', file]);
  } finally {
    root.cleanup();
  }
});

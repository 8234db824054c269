/**
 * Pure evaluation mode against the reference Nix 2.8 (status, stdout and the
 * whole stderr): no search path, no `builtins.storePath`, fetches need their
 * hash, and only what was fetched or built for the evaluation may be read —
 * not a `toFile` result, another store path or the store directory.
 */
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRoot, haveReference, REF_BIN } from '../harness/index.js';
import { sameOnRoot } from '../harness/compare.js';

test('pure evaluation mode allows what 2.8 allows', { skip: !haveReference(), timeout: 300_000 }, () => {
  const root = makeRoot();
  try {
    const dir = join(root.dir, 'src');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'd.txt'), 'data\n');
    writeFileSync(join(dir, 'x.nix'), '"hello"\n');
    mkdirSync(join(dir, 'pkg'));
    writeFileSync(join(dir, 'pkg', 'x.nix'), '"packed"\n');
    execFileSync('tar', ['-C', dir, '-czf', join(dir, 'd.tgz'), 'pkg']);
    execFileSync('tar', ['-C', dir, '-czf', join(dir, 'two.tgz'), 'd.txt', 'x.nix']);
    const env = { ...root.env };
    const added = execFileSync(join(REF_BIN, 'nix-store'), ['--add', join(dir, 'd.txt')], { env }).toString().trim();
    const hash = execFileSync(join(REF_BIN, 'nix-hash'), ['--type', 'sha256', '--flat', '--base32', join(dir, 'd.txt')], { env }).toString().trim();
    const tgz = `file://${dir}/d.tgz`;
    const tarHash = execFileSync(join(REF_BIN, 'nix-prefetch-url'), ['--unpack', tgz], { env, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const ifd = 'derivation { name = "ifd"; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" "/bin/mkdir $out; echo 42 > $out/v.nix" ]; }';
    // Built first, so that neither run below prints its build.
    execFileSync(join(REF_BIN, 'nix-build'), ['--no-out-link', '-E', ifd], { env, stdio: 'ignore' });
    const exprs = [
      `builtins.readFile ${added}`,
      `builtins.readFile (builtins.storePath ${added})`,
      'import <foo/x.nix>',
      'builtins.nixPath',
      'builtins.readFile (builtins.toFile "a" "b")',
      'let s = builtins.toFile "a.nix" "1"; in import s',
      `builtins.readDir ${root.storeDir}`,
      `builtins.pathExists ${root.storeDir}`,
      `builtins.readFile (builtins.fetchurl { url = "file://${dir}/d.txt"; sha256 = "${hash}"; })`,
      `builtins.fetchurl "file://${dir}/d.txt"`,
      `builtins.fetchTarball "${tgz}"`,
      `let t = builtins.fetchTarball { url = "${tgz}"; sha256 = "${tarHash}"; }; in [ (import (t + "/x.nix")) (builtins.readDir t) ]`,
      `builtins.fetchGit ${dir}`,
      `builtins.fetchTarball { url = "file://${dir}/two.tgz"; sha256 = "${'0'.repeat(52)}"; }`,
      `import "\${${ifd}}/v.nix"`,
      `builtins.readFile (${ifd}).drvPath`,
      'builtins.readFile ./d.txt',
      '<nix/fetchurl.nix>',
    ];
    for (const e of exprs) {
      sameOnRoot(root, 'nix-instantiate', ['--read-write-mode', '--option', 'pure-eval', 'true', '--eval', '--strict', '-I', `foo=${dir}`, '-E', e], { cwd: dir });
    }
    sameOnRoot(root, 'nix-instantiate', ['--option', 'pure-eval', 'true', '--eval', join(dir, 'x.nix')], { cwd: dir });
  } finally {
    root.cleanup();
  }
});

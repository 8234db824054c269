/**
 * Source files with NUL bytes or no final newline, and file-system errors,
 * tix against the reference Nix 2.8 (status, stdout and the whole stderr):
 * - a NUL where a token would start ends the input; a string literal ends at
 *   its first NUL (2.8 keeps string values as C strings);
 * - a file's last line without its newline is not shown in excerpts;
 * - system errors (a missing file, a directory read as a file, a failed
 *   download) carry no position.
 */
import { test } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRoot, haveReference } from '../harness/index.js';
import { sameOnRoot } from '../harness/compare.js';

/** File name → contents (`\0` is a NUL byte). */
const FILES: Array<[string, string]> = [
  ['nul-str.nix', 'builtins.stringLength "a\0b"\n'],
  ['nul-ind.nix', "[ ''x\0y'' ''\n  a\0  \n  b'' ]\n"],
  ['nul-parts.nix', '"a\0b${"c"}d\0e"\n'],
  ['nul-attr.nix', '{ x = { "a\0b" = 1; } ? "a"; y = builtins.attrNames { "a\0b" = 1; }; z = "a\0b" == "a"; }\n'],
  ['nul-json.nix', 'builtins.toJSON { "a\0b" = "x\0y"; }\n'],
  ['nul-toml.nix', 'builtins.fromTOML "x = \\"a\\\\u0000b\\""\n'],
  ['nul-ends-input.nix', 'a\0b: 1\n'],
  ['nul-ends-path.nix', '/etc/pass\0wd\n'],
  ['nul-ends-let.nix', 'let x = 1; in x\0 + 2\n'],
  ['nul-after-op.nix', '1 +\0 2\n'],
  ['nul-in-comments.nix', '# c\0omment\n/* x\0y */ 2\n'],
  ['nul-in-select.nix', '{ a = 1; }.\0'],
  ['nul-in-interp.nix', '"${\0}"\n'],
  ['nul-readfile.nix', 'builtins.readFile "/etc/pass\0wd"\n'],
  ['nul-fetch.nix', 'builtins.fetchTarball "file:///nonex\0istent/archive.tar.gz"\n'],
  ['no-newline.nix', 'x'],
  ['no-newline-after.nix', 'x\n+ 1'],
  ['no-newline-at.nix', '1 +\nx'],
  ['newline.nix', 'x\n'],
  ['import-missing.nix', 'import ./missing.nix\n'],
  ['readdir-missing.nix', 'builtins.readDir ./missing\n'],
  ['readfile-missing.nix', 'builtins.readFile ./missing\n'],
  ['readdir-file.nix', 'builtins.readDir ./newline.nix\n'],
  ['readfile-dir.nix', 'builtins.readFile ./sub\n'],
  ['interp-missing.nix', '"${./missing}"\n'],
  ['hashfile-missing.nix', 'builtins.hashFile "sha256" ./missing\n'],
  ['path-missing.nix', 'builtins.path { path = ./missing; }\n'],
  ['filter-missing.nix', 'builtins.filterSource (p: t: true) ./missing\n'],
  ['nested-missing.nix', 'builtins.toString (builtins.readDir ./sub/missing)\n'],
  ['fetchurl-missing.nix', 'builtins.fetchurl "file:///nonexistent-tix-test"\n'],
  ['fetchtarball-missing.nix', 'builtins.fetchTarball "file:///nonexistent-tix-test"\n'],
  ['fetchurl-bad-escape.nix', 'builtins.fetchurl "file:///a%zz"\n'],
  ['fetchurl-nul-escape.nix', 'builtins.fetchurl "file:///a%00b"\n'],
  ['fetchurl-dir.nix', 'builtins.fetchurl "file://${toString ./sub}"\n'],
  ['usage-error.nix', 'builtins.hashString "sha3" "hello"\n'],
  ['multi-line-1.nix', 'throw "a  \\nb"\n'],
  ['multi-line-2.nix', 'throw "x\\n\\n\\ny\\n\\n"\n'],
  ['multi-line-3.nix', 'throw "\\n\\ta\\t"\n'],
  ['empty-message.nix', 'builtins.seq (throw "") 1\n'],
  ['tab-in-excerpt.nix', 'let\n\tx = y;\nin x\n'],
  ['tab-in-message.nix', 'throw "xy\\tb\\n1234567890\\tc \u00c3\u00a9\\td"\n'],
  ['tab-in-trace.nix', 'builtins.trace "a\\tb\\rc \u00c3\u00a9\\td" 1\n'],
];

test('NUL bytes, unterminated last lines and system errors are reported as by 2.8', { skip: !haveReference(), timeout: 300_000 }, () => {
  const root = makeRoot();
  try {
    const dir = join(root.dir, 'src');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    for (const [name, text] of FILES) writeFileSync(join(dir, name), Buffer.from(text, 'latin1'));
    for (const [name] of FILES) {
      sameOnRoot(root, 'nix-instantiate', ['--eval', '--strict', join(dir, name)], { cwd: dir });
    }
    // A usage error's hint names the program (each command passes its name to the evaluation).
    sameOnRoot(root, 'nix-build', [join(dir, 'usage-error.nix')], { cwd: dir });
    sameOnRoot(root, 'nix', ['eval', '--file', join(dir, 'usage-error.nix')], { cwd: dir });
    for (const name of ['path-missing.nix', 'filter-missing.nix']) {
      sameOnRoot(root, 'nix-instantiate', ['--eval', '--strict', '--show-trace', join(dir, name)], { cwd: dir });
    }
  } finally {
    root.cleanup();
  }
});

/**
 * `builtin:fetchurl` derivations (`import <nix/fetchurl.nix>`), realised by the
 * reference Nix 2.8 and by tix in roots at the same directory: `file://` URLs
 * and a small local HTTP server (a child process, since the runs block this
 * one). Compared: drv paths, exit codes, stdout, error lines, registrations
 * (`--dump-db`: NAR hashes, CA, references) and the stored logs without their
 * `@nix` lines (activity ids differ by design).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveReference, makeRoot, normalise, runIn, runRef, REF_BIN, TIX_BIN } from '../harness/index.js';

const HELLO_SHA256 = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';
const ZERO = '0000000000000000000000000000000000000000000000000000';

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  if (req.url === '/hello.txt') { res.end('hello\\n'); return; }
  if (req.url === '/gone') { res.statusCode = 410; res.statusMessage = 'Gone Away'; res.end('it went\\n'); return; }
  res.statusCode = 404; res.statusMessage = 'File not found'; res.end('<html>\\n<p>no such thing</p>\\n</html>\\n');
});
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

function casesNix(dir: string, port: number): string {
  const f = (attrs: string): string => `import <nix/fetchurl.nix> { ${attrs} }`;
  return `rec {
  fileOk = ${f(`url = "file://${dir}/www/hello.txt"; sha256 = "${HELLO_SHA256}";`)};
  fileBadHash = ${f(`url = "file://${dir}/www/hello.txt"; sha256 = "${ZERO}";`)};
  fileMissing = ${f(`url = "file://${dir}/www/nope.txt"; sha256 = "${HELLO_SHA256}";`)};
  fileExe = ${f(`url = "file://${dir}/www/hello.txt"; executable = true; hash = "sha256-ZUNgOdP5PKGajb8cYLFXOe1Y9T8UuNNyrMGzUVMwEPo=";`)};
  fileSri = ${f(`url = "file://${dir}/www/hello.txt"; hash = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="; name = "renamed";`)};
  fileUnpack = ${f(`url = "file://${dir}/www/tree.nar"; unpack = true; sha256 = "TREE_HASH";`)};
  httpOk = ${f(`url = "http://127.0.0.1:${port}/hello.txt"; sha256 = "${HELLO_SHA256}";`)};
  http404 = ${f(`url = "http://127.0.0.1:${port}/missing"; sha256 = "${HELLO_SHA256}";`)};
  http410 = ${f(`url = "http://127.0.0.1:${port}/gone"; sha256 = "${HELLO_SHA256}";`)};
  user = derivation { name = "user"; system = "x86_64-linux"; builder = "/bin/bash"; args = [ "-c" "echo \${httpOk} > $out; /bin/cat \${fileUnpack}/f >> $out" ]; };
}`;
}

const ATTRS = ['fileOk', 'fileBadHash', 'fileMissing', 'fileExe', 'fileSri', 'fileUnpack', 'httpOk', 'http404', 'http410', 'user'];

interface Outcome {
  drvs: string[];
  cases: Map<string, string>;
  dumpDb: string;
  logs: Map<string, string>;
}

function errorLines(stderr: string): string {
  return stderr.split('\n').filter((l) => l.startsWith('error:') || l.startsWith('       ')).join('\n');
}

function dbGroups(dump: string): string[] {
  const lines = dump.split('\n').filter((l) => l !== '');
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const n = Number(lines[i + 4]);
    out.push(lines.slice(i, i + 5 + n).join('\n'));
    i += 5 + n;
  }
  return out.sort();
}

function runImpl(bin: string, dir: string, port: number): Outcome {
  mkdirSync(join(dir, 'www'), { recursive: true });
  const root = makeRoot({ dir });
  try {
    writeFileSync(join(dir, 'www/hello.txt'), 'hello\n');
    // A NAR made by the reference, and its recursive hash.
    mkdirSync(join(dir, 'www/tree'), { recursive: true });
    writeFileSync(join(dir, 'www/tree/f'), 'unpacked\n');
    const nar = runRef(root, 'nix-store', ['--dump', join(dir, 'www/tree')]);
    writeFileSync(join(dir, 'www/tree.nar'), nar.stdoutBytes);
    const treeHash = runRef(root, 'nix-hash', ['--type', 'sha256', '--base32', join(dir, 'www/tree')]).stdout.trim();
    writeFileSync(join(dir, 'cases.nix'), casesNix(dir, port).replace('TREE_HASH', treeHash));
    const inst = runRef(root, 'nix-instantiate', ['cases.nix', ...ATTRS.flatMap((a) => ['-A', a])]);
    assert.equal(inst.status, 0, inst.stderr);
    const drvs = inst.stdout.trim().split('\n');
    const cases = new Map<string, string>();
    ATTRS.forEach((a, i) => {
      const r = runIn(bin, root, 'nix-store', ['-r', drvs[i]!], { timeoutMs: 60_000 });
      cases.set(a, normalise(`status ${r.status}\n${r.stdout}${errorLines(r.stderr)}`, root));
    });
    const dumpDb = normalise(runRef(root, 'nix-store', ['--dump-db']).stdout, root);
    const logs = new Map<string, string>();
    ATTRS.forEach((a, i) => {
      const r = runRef(root, 'nix-store', ['-l', drvs[i]!]);
      const text = r.stdout.split('\n').filter((l) => !l.startsWith('@nix ')).join('\n');
      logs.set(a, r.status === 0 ? normalise(text, root) : `<no log: ${r.status}>`);
    });
    return { drvs: drvs.map((d) => normalise(d, root)), cases, dumpDb, logs };
  } finally {
    root.cleanup();
  }
}

async function startServer(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', () => reject(new Error('test HTTP server exited')));
  });
  return { port, child };
}

test('builtin:fetchurl matches the reference Nix 2.8', { skip: !haveReference() ? 'no reference nix' : false, timeout: 300_000 }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tix-fetchurl-'));
  const dir = join(base, 'r');
  const server = await startServer();
  try {
    const ref = runImpl(REF_BIN, dir, server.port);
    const tix = runImpl(TIX_BIN, dir, server.port);
    if (process.env.TIX_DEBUG) console.log([...ref.cases.values()].join("\n--\n"));
    await t.test('drv paths', () => assert.deepEqual(tix.drvs, ref.drvs));
    for (const a of ATTRS) {
      await t.test(`case ${a}`, () => assert.equal(tix.cases.get(a), ref.cases.get(a)));
      await t.test(`log ${a}`, () => assert.equal(tix.logs.get(a), ref.logs.get(a)));
    }
    await t.test('registrations', () => assert.deepEqual(dbGroups(tix.dumpDb), dbGroups(ref.dumpDb)));
  } finally {
    server.child.kill();
    rmSync(base, { recursive: true, force: true });
  }
});

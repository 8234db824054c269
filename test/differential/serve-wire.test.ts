/**
 * `nix-store --serve` at the byte level: the same requests (handshake, every
 * command, refused writes, garbage and truncated input) are sent to the
 * reference 2.8 `nix-store --serve` and to tix's, each in a fresh root at the
 * same directory (so store paths agree); exit status, reply bytes and stderr
 * must match, and the store must stay consistent after a failed upload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REF_BIN, TIX_BIN, haveReference, makeRoot, normalise, runRef, type NixRoot } from '../harness/index.js';

// --- wire encoding (little-endian u64, padded strings) ---
const u = (n: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u(b.length), b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
};
const strs = (l: string[]): Buffer => Buffer.concat([u(l.length), ...l.map((s) => str(s))]);
const HELLO = Buffer.concat([u(0x390c9deb), u(0x207)]);
const hello = (version = 0x207): Buffer => Buffer.concat([u(0x390c9deb), u(version)]);
/** Build settings: maxSilentTime, buildTimeout, maxLogSize, buildRepeat, enforceDeterminism, keepFailed. */
const SETTINGS = Buffer.concat([u(0), u(0), u(0), u(0), u(0), u(0)]);

/** NAR of one regular file. */
function narOfFile(contents: string): Buffer {
  return Buffer.concat(['nix-archive-1', '(', 'type', 'regular', 'contents'].map((t) => str(t)).concat([str(contents), str(')')]));
}

const FILES: Record<string, string> = {
  'b.nix': `let dep = derivation { name = "dep2"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo dep2 > $out"]; };
in derivation { name = "top2"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo \${dep} > $out; echo building top2"]; }`,
  'later.nix': `derivation { name = "later"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo later > $out; echo later-log"]; }`,
  'fail.nix': `derivation { name = "fail"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo some output; exit 3"]; }`,
  'src.txt': 'a source file\n',
  'slow.nix': `derivation { name = "slow"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "read -t 20 x < /dev/zero; echo done > $out"]; }`,
};

interface Fixture {
  top: string;
  dep: string;
  topDrv: string;
  src: string;
  later: string;
  laterOut: string;
  fail: string;
  slow: string;
  missing: string;
}

/** The same store contents in every root at this directory (made with the reference). */
function populate(root: NixRoot): Fixture {
  for (const [n, t] of Object.entries(FILES)) writeFileSync(join(root.dir, n), t);
  const ref = (prog: string, ...args: string[]): string => {
    const r = runRef(root, prog, args);
    assert.equal(r.status, 0, `${prog} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const top = ref('nix-build', 'b.nix', '--no-out-link');
  const topDrv = ref('nix-store', '-q', '--deriver', top);
  const dep = ref('nix-store', '-q', '--references', top);
  const src = ref('nix-store', '--add', join(root.dir, 'src.txt'));
  const later = ref('nix-instantiate', 'later.nix');
  const laterOut = ref('nix-store', '-q', '--outputs', later);
  const fail = ref('nix-instantiate', 'fail.nix');
  const slow = ref('nix-instantiate', 'slow.nix');
  const missing = `${root.storeDir}/${'0'.repeat(32)}-missing`;
  return { top, dep, topDrv, src, later, laterOut, fail, slow, missing };
}

interface Reply {
  status: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * One session with stdin closed after the input. `pipe`: stdin is a real
 * pipe whose closing is a hang-up (2.8 polls for POLLHUP during builds; Node's
 * own child stdin is a socket, which only reads as end-of-file).
 */
function serveSync(bin: string, root: NixRoot, write: boolean, input: Buffer, pipe = false): Reply {
  const args = ['--serve', ...(write ? ['--write'] : [])];
  const prog = join(bin, 'nix-store');
  let r;
  if (pipe) {
    const file = join(root.dir, 'request.bin');
    writeFileSync(file, input);
    r = spawnSync('/bin/bash', ['-c', `cat "$0" | exec "$1" ${args.join(' ')}`, file, prog], { env: root.env, cwd: root.dir, timeout: 60_000 });
  } else {
    r = spawnSync(prog, args, { env: root.env, input, cwd: root.dir, timeout: 60_000 });
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: normalise(r.stderr.toString(), root) };
}

/**
 * One session that keeps stdin open until `complete(stdout)` (2.8 treats a
 * closed stdin during a build as the client hanging up), then closes it.
 */
function serveAsync(bin: string, root: NixRoot, input: Buffer, complete: (out: Buffer) => boolean): Promise<Reply> {
  return new Promise((resolve) => {
    const child = spawn(join(bin, 'nix-store'), ['--serve', '--write'], { env: root.env, cwd: root.dir });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.stdin.end(), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      if (complete(Buffer.concat(out))) child.stdin.end();
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout: Buffer.concat(out), stderr: normalise(err, root) });
    });
    child.stdin.write(input);
  });
}

/** A BuildPaths reply after the 16-byte greeting: u64 0, or u64 status + string. */
function buildPathsReplyDone(b: Buffer): boolean {
  if (b.length < 24) return false;
  if (b.readBigUInt64LE(16) === 0n) return true;
  if (b.length < 32) return false;
  const n = Number(b.readBigUInt64LE(24));
  return b.length >= 32 + n + ((8 - (n % 8)) % 8);
}

interface WireCase {
  name: string;
  write?: boolean;
  pipe?: boolean;
  /** Why stderr is not compared (exit status, reply and store state still are). */
  stderrDiffers?: string;
  input: (f: Fixture) => Buffer;
}

function addNarRequest(path: string, nar: Buffer, refs: string[], narHashHex?: string): Buffer {
  const hash = narHashHex ?? createHash('sha256').update(nar).digest('hex');
  return Buffer.concat([u(9), str(path), str(''), str(hash), strs(refs), u(0), u(nar.length), u(0), strs([]), str(''), nar]);
}

const CASES: WireCase[] = [
  { name: 'garbage', input: () => Buffer.from('hello world garbage!!') },
  { name: 'empty', input: () => Buffer.alloc(0) },
  { name: 'bad magic', input: () => Buffer.concat([u(0x12345678), u(0x207)]) },
  { name: 'magic only', input: () => u(0x390c9deb) },
  { name: 'greeting then EOF', input: () => HELLO },
  { name: 'half a command', input: () => Buffer.concat([HELLO, Buffer.from([1, 0, 0])]) },
  { name: 'unknown command', input: () => Buffer.concat([HELLO, u(42)]) },
  { name: 'command too large', input: () => Buffer.concat([HELLO, u(0x100000001n)]) },
  { name: 'import without --write', input: () => Buffer.concat([HELLO, u(4)]) },
  { name: 'AddToStoreNar without --write', input: () => Buffer.concat([HELLO, u(9)]) },
  { name: 'BuildPaths without --write', input: (f) => Buffer.concat([HELLO, u(6), strs([f.later]), SETTINGS]) },
  { name: 'BuildDerivation without --write', input: (f) => Buffer.concat([HELLO, u(8), str(f.later)]) },
  { name: 'truncated QueryValidPaths', input: () => Buffer.concat([HELLO, u(1), u(0)]) },
  { name: 'QueryValidPaths', input: (f) => Buffer.concat([HELLO, u(1), u(0), u(0), strs([f.top, f.missing, f.dep, f.top, f.src])]) },
  { name: 'QueryValidPaths lock (--write)', write: true, input: (f) => Buffer.concat([HELLO, u(1), u(1), u(1), strs([f.top, f.missing])]) },
  { name: 'QueryValidPaths bad path', input: () => Buffer.concat([HELLO, u(1), u(0), u(0), strs(['/not/in/store'])]) },
  { name: 'QueryPathInfos', input: (f) => Buffer.concat([HELLO, u(2), strs([f.top, f.missing, f.dep, f.src, f.topDrv])]) },
  { name: 'QueryPathInfos, 2.3 client', input: (f) => Buffer.concat([hello(0x203), u(2), strs([f.top, f.src])]) },
  { name: 'QueryClosure', input: (f) => Buffer.concat([HELLO, u(7), u(0), strs([f.top]), u(7), u(1), strs([f.topDrv]), u(7), u(0), strs([f.topDrv])]) },
  { name: 'QueryClosure of an invalid path', input: (f) => Buffer.concat([HELLO, u(7), u(0), strs([f.missing])]) },
  { name: 'DumpStorePath', input: (f) => Buffer.concat([HELLO, u(3), str(f.top), u(3), str(f.src)]) },
  { name: 'DumpStorePath of an invalid path', input: (f) => Buffer.concat([HELLO, u(3), str(f.missing)]) },
  { name: 'ExportPaths', input: (f) => Buffer.concat([HELLO, u(5), u(0), strs([f.top, f.dep, f.src])]) },
  { name: 'ExportPaths with an invalid path', input: (f) => Buffer.concat([HELLO, u(5), u(0), strs([f.dep, f.missing])]) },
  { name: 'several commands', input: (f) => Buffer.concat([HELLO, u(1), u(0), u(0), strs([f.top]), u(2), strs([f.dep]), u(7), u(0), strs([f.src])]) },
  {
    name: 'AddToStoreNar then query',
    write: true,
    input: (f) => {
      const p = f.missing.replace(/-missing$/, '-wire-added');
      return Buffer.concat([HELLO, addNarRequest(p, narOfFile(`refers to ${f.dep}\n`), [f.dep]), u(2), strs([p]), u(1), u(0), u(0), strs([p])]);
    },
  },
  {
    name: 'AddToStoreNar with a malformed content address',
    write: true,
    input: (f) => {
      const nar = narOfFile('ca\n');
      const h = createHash('sha256').update(nar).digest('hex');
      return Buffer.concat([HELLO, u(9), str(f.missing), str(''), str(h), strs([]), u(0), u(nar.length), u(0), strs([]), str('fixed:nonsense'), nar]);
    },
  },
  { name: 'AddToStoreNar with a malformed hash', write: true, input: (f) => Buffer.concat([HELLO, addNarRequest(f.missing, narOfFile('h\n'), [], 'xyz')]) },
  { name: 'BuildPaths of a path outside the store', write: true, input: () => Buffer.concat([HELLO, u(6), strs(['/etc/hosts']), SETTINGS]) },
  { name: 'AddToStoreNar of a valid path', write: true, input: (f) => Buffer.concat([HELLO, addNarRequest(f.dep, narOfFile('other\n'), []), u(1), u(0), u(0), strs([f.dep])]) },
  {
    name: 'AddToStoreNar with a wrong hash',
    write: true,
    input: (f) => Buffer.concat([HELLO, addNarRequest(f.missing, narOfFile('x\n'), [], 'ab'.repeat(32))]),
  },
  {
    name: 'AddToStoreNar truncated',
    write: true,
    input: (f) => {
      const req = addNarRequest(f.missing, narOfFile('truncated upload '.repeat(20)), []);
      return Buffer.concat([HELLO, req.subarray(0, req.length - 100)]);
    },
  },
  {
    name: 'AddToStoreNar with a bad NAR',
    write: true,
    input: (f) => Buffer.concat([HELLO, addNarRequest(f.missing, Buffer.concat([str('nix-archive-2'), str('('), str(')')]), [])]),
  },
  {
    name: 'ImportPaths then query',
    write: true,
    input: (f) => {
      const p = f.missing.replace(/-missing$/, '-wire-imported');
      const exp = Buffer.concat([u(1), narOfFile('imported\n'), u(0x4558494e), str(p), strs([f.src]), str(''), u(0), u(0)]);
      return Buffer.concat([HELLO, u(4), exp, u(2), strs([p])]);
    },
  },
  {
    name: 'ImportPaths truncated',
    write: true,
    input: (f) => Buffer.concat([HELLO, u(4), u(1), narOfFile('imported\n').subarray(0, 40)]),
  },
  { name: 'ImportPaths not an export', write: true, input: () => Buffer.concat([HELLO, u(4), u(7)]) },
  // The client closes its end while the build runs: the build is interrupted, no reply is sent.
  { name: 'BuildPaths, client hangs up', write: true, pipe: true, input: (f) => Buffer.concat([HELLO, u(6), strs([f.slow]), SETTINGS]) },
];

/**
 * The store directory split into valid paths and debris (invalid paths, lock
 * files). 2.8 leaves debris after a failed upload (a later GC removes it);
 * tix leaves none, which the test requires.
 */
function storeListing(root: NixRoot): { valid: string[]; debris: string[] } {
  const names = readdirSync(root.storeDir).filter((n) => n !== '.links').sort();
  const locks = names.filter((n) => n.endsWith('.lock'));
  const paths = names.filter((n) => !n.endsWith('.lock'));
  const r = runRef(root, 'nix-store', ['--check-validity', '--print-invalid', ...paths.map((n) => join(root.storeDir, n))]);
  const invalid = new Set(r.stdout.split('\n').filter((l) => l !== '').map((l) => l.slice(root.storeDir.length + 1)));
  return { valid: paths.filter((n) => !invalid.has(n)), debris: [...locks, ...invalid].sort() };
}

interface Outcome {
  reply: Reply;
  valid?: string[];
  debris?: string[];
  verify?: { status: number; stderr: string };
}

function runCase(bin: string, root: NixRoot, f: Fixture, c: WireCase): Outcome {
  const reply = serveSync(bin, root, c.write ?? false, c.input(f), c.pipe);
  if (!c.write) return { reply };
  const v = runRef(root, 'nix-store', ['--verify', '--check-contents']);
  return { reply, ...storeListing(root), verify: { status: v.status, stderr: normalise(v.stderr, root) } };
}

/** Fresh roots at one directory, populated the same way; `fn` runs against each server. */
async function eachServer<T>(fn: (bin: string, root: NixRoot, f: Fixture) => Promise<T> | T): Promise<{ ref: T; tix: T }> {
  const base = mkdtempSync(join(tmpdir(), 'tix-serve-wire-'));
  const dir = join(base, 'r');
  const once = async (bin: string): Promise<T> => {
    mkdirSync(dir, { recursive: true });
    const root = makeRoot({ dir });
    try {
      return await fn(bin, root, populate(root));
    } finally {
      root.cleanup();
    }
  };
  try {
    return { ref: await once(REF_BIN), tix: await once(TIX_BIN) };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

test('nix-store --serve: replies, errors and store state match 2.8 byte for byte', { skip: !haveReference() }, async () => {
  const { ref, tix } = await eachServer((bin, root, f) => CASES.map((c) => runCase(bin, root, f, c)));
  const problems: string[] = [];
  const check = (what: string, a: unknown, b: unknown): void => {
    try {
      assert.deepEqual(a, b);
    } catch {
      problems.push(`${what}:\n  tix ${JSON.stringify(a)}\n  ref ${JSON.stringify(b)}`);
    }
  };
  for (const [i, c] of CASES.entries()) {
    const r = ref[i]!;
    const t = tix[i]!;
    check(`${c.name}: exit status`, t.reply.status, r.reply.status);
    check(`${c.name}: reply bytes`, t.reply.stdout.toString('hex'), r.reply.stdout.toString('hex'));
    // 2.8 names itself by its path in usage hints.
    if (c.stderrDiffers === undefined) check(`${c.name}: stderr`, t.reply.stderr, r.reply.stderr.replaceAll(`'${REF_BIN}/nix-store --help'`, "'nix-store --help'"));
    check(`${c.name}: valid paths`, t.valid, r.valid);
    check(`${c.name}: nix-store --verify --check-contents`, t.verify, r.verify);
    if (c.write) check(`${c.name}: debris left in the store by tix`, t.debris, []);
  }
  assert.deepEqual(problems, []);
  // The cases must exercise real answers, not only errors.
  assert.ok(ref[CASES.findIndex((c) => c.name === 'ExportPaths')]!.reply.stdout.length > 500);
  assert.equal(ref[CASES.findIndex((c) => c.name === 'AddToStoreNar truncated')]!.reply.status, 1);
});

test('nix-store --serve --write: BuildPaths replies match 2.8', { skip: !haveReference() }, async () => {
  const { ref, tix } = await eachServer(async (bin, root, f) => {
    const out: { name: string; reply: Reply; valid: number }[] = [];
    const cases: [string, string[]][] = [
      ['valid output path', [f.top]],
      ['derivation output', [`${f.later}!out`]],
      ['failing builder', [f.fail]],
      ['invalid opaque path', [f.missing]],
    ];
    for (const [name, paths] of cases) {
      const reply = await serveAsync(bin, root, Buffer.concat([HELLO, u(6), strs(paths), SETTINGS]), buildPathsReplyDone);
      out.push({ name, reply, valid: runRef(root, 'nix-store', ['--check-validity', f.laterOut]).status });
    }
    return out;
  });
  for (const [i, r] of ref.entries()) {
    const t = tix[i]!;
    assert.equal(t.reply.status, r.reply.status, `${r.name}: exit status; tix stderr: ${t.reply.stderr}`);
    assert.equal(t.reply.stdout.toString('hex'), r.reply.stdout.toString('hex'), `${r.name}: reply (ref ${JSON.stringify(r.reply.stdout.subarray(16).toString())}, tix ${JSON.stringify(t.reply.stdout.subarray(16).toString())})`);
    assert.equal(t.reply.stderr, r.reply.stderr, `${r.name}: stderr`);
    assert.equal(t.valid, r.valid, `${r.name}: output validity afterwards`);
  }
  assert.equal(ref[1]!.valid, 0, 'the reference built the derivation');
});

/** The BasicDerivation of a stored `.drv` as BuildDerivation sends it (read with the reference's show-derivation). */
function basicDerivation(root: NixRoot, drvPath: string): Buffer {
  const r = runRef(root, 'nix', ['show-derivation', drvPath]);
  assert.equal(r.status, 0, r.stderr);
  const d = (JSON.parse(r.stdout) as Record<string, { outputs: Record<string, { path?: string; hashAlgo?: string; hash?: string }>; inputSrcs: string[]; system: string; builder: string; args: string[]; env: Record<string, string> }>)[drvPath]!;
  const outs = Object.keys(d.outputs).sort();
  const env = Object.keys(d.env).sort();
  return Buffer.concat([
    u(outs.length), ...outs.map((o) => Buffer.concat([str(o), str(d.outputs[o]!.path ?? ''), str(d.outputs[o]!.hashAlgo ?? ''), str(d.outputs[o]!.hash ?? '')])),
    strs([...d.inputSrcs].sort()), str(d.system), str(d.builder), strs(d.args),
    u(env.length), ...env.map((k) => Buffer.concat([str(k), str(d.env[k]!)])),
  ]);
}

/** Reads a BuildDerivation reply (2.7 layout) after the greeting; undefined until it is complete. */
function parseBuildResult(b: Buffer): { masked: string } | undefined {
  let pos = 16;
  const num = (): bigint | undefined => {
    if (b.length < pos + 8) return undefined;
    const v = b.readBigUInt64LE(pos);
    pos += 8;
    return v;
  };
  const string = (): string | undefined => {
    const n = num();
    if (n === undefined) return undefined;
    const len = Number(n);
    const end = pos + len + ((8 - (len % 8)) % 8);
    if (b.length < end) return undefined;
    const s = b.subarray(pos, pos + len).toString();
    pos = end;
    return s;
  };
  const status = num();
  const msg = string();
  const times = [num(), num(), num(), num()];
  const n = num();
  if (status === undefined || msg === undefined || times.includes(undefined) || n === undefined) return undefined;
  const outputs: string[] = [];
  for (let i = 0; i < Number(n); i++) {
    const id = string();
    const json = string();
    if (id === undefined || json === undefined) return undefined;
    outputs.push(`${id} ${json}`);
  }
  // Start and stop times differ from run to run; their order is checked instead.
  const ordered = times[2]! <= times[3]!;
  return { masked: JSON.stringify({ status: String(status), msg, timesBuilt: String(times[0]), nonDet: String(times[1]), ordered, outputs, rest: b.length - pos }) };
}

test('nix-store --serve --write: BuildDerivation results match 2.8 (start and stop times aside)', { skip: !haveReference() }, async () => {
  const { ref, tix } = await eachServer(async (bin, root, f) => {
    const out: { name: string; result?: string; status: number; stderr: string; valid: number }[] = [];
    const cases: [string, string][] = [
      ['builds', f.later],
      ['already valid', f.later],
      ['input-addressed with an input', f.topDrv],
      ['failing builder', f.fail],
    ];
    for (const [name, drv] of cases) {
      const req = Buffer.concat([HELLO, u(8), str(drv), basicDerivation(root, drv), SETTINGS]);
      const reply = await serveAsync(bin, root, req, (b) => parseBuildResult(b) !== undefined);
      const result = parseBuildResult(reply.stdout)?.masked;
      out.push({ name, result, status: reply.status, stderr: reply.stderr, valid: runRef(root, 'nix-store', ['--check-validity', f.laterOut]).status });
    }
    return out;
  });
  const problems: string[] = [];
  for (const [i, r] of ref.entries()) {
    try {
      assert.deepEqual(tix[i], r);
    } catch {
      problems.push(`${r.name}:\n  tix ${JSON.stringify(tix[i])}\n  ref ${JSON.stringify(r)}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.match(ref[0]!.result!, /"status":"0"/);
  assert.match(ref[0]!.result!, /sha256:[0-9a-f]{64}!out/);
});

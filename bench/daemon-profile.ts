/**
 * Where the tix daemon spends its CPU on one row of bench/daemon.ts: runs the
 * daemon under `node --cpu-prof`, drives the row with tix's RemoteStore, and
 * prints the functions with the most self time (and the .cpuprofile path, for
 * Chrome DevTools).
 *
 * Run: node dist/bench/daemon-profile.js qpi|qpi-many|nar [count] [top]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WireWriter, hashBytes, type StorePath } from '../src/formats/index.js';
import { RemoteStore, unixConnector } from '../src/protocol/index.js';
import { makeRoot, TIX_BIN } from '../test/harness/index.js';
import { socketOf } from '../test/differential/daemon-harness.js';

const row = process.argv[2] ?? 'qpi';
const count = Number(process.argv[3] ?? 20_000);
const top = Number(process.argv[4] ?? 30);

const narOf = (s: string): Uint8Array =>
  new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('contents').string(s).string(')').take();
async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function summarise(file: string): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const n of prof.nodes) {
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
    if (f.functionName === '(idle)') continue;
    self.set(key, (self.get(key) ?? 0) + (n.hitCount ?? 0));
    total += n.hitCount ?? 0;
  }
  // Self time by the innermost tix module on the stack (natives count for their JS caller).
  const byNode = new Map(prof.nodes.map((n) => [n.id, n]));
  const byModule = new Map<string, number>();
  const walk = (id: number, owner: string): void => {
    const n = byNode.get(id)!;
    const m = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)/.exec(n.callFrame.url);
    const here = m ? m[1]!.replace(/\.js$/, '') : owner;
    if (n.callFrame.functionName !== '(idle)') byModule.set(here, (byModule.get(here) ?? 0) + (n.hitCount ?? 0));
    for (const k of n.children ?? []) walk(k, here);
  };
  walk(prof.nodes[0]!.id, '(outside tix code)');
  console.log('by innermost tix module on the stack:');
  for (const [k, v] of [...byModule.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
  console.log('by function (self):');
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`busy samples: ${total} (share of busy time, self)`);
  for (const [k, v] of rows) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

const dir = mkdtempSync(join(tmpdir(), 'tix-prof-'));
const root = makeRoot({ conf: 'trusted-users = root\n' });
// NODE_OPTIONS may not carry --cpu-prof: run Node on the launcher's entry directly.
const socket = socketOf(root);
const proc = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`, join(TIX_BIN, 'tix-node.mjs'), 'nix-daemon'], {
  env: { ...root.env, NIX_REMOTE: '', TIX_BUNDLE: '0' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
while (!existsSync(socket)) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 200));
const c = new RemoteStore({ storeDir: root.storeDir, connect: unixConnector(socket), maxConnections: 1 });
try {
  const many: StorePath[] = [];
  for (let i = 0; i < (row === 'qpi-many' ? 1000 : 1); i++) many.push(await c.addTextToStore(`m${i}`, new TextEncoder().encode(`m${i}`), []));
  const t = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (row === 'nar') {
      const nar = narOf(`small ${i}`);
      const h = hashBytes('sha256', nar);
      const path = c.storeDir.makeFixedOutputPath({ recursive: true, hash: h, name: `s${i}` });
      await c.addToStoreNar({ path, narHash: h, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:${h.toString('base32')}` }, once(nar));
    } else {
      await c.queryPathInfo(many[i % many.length]!);
    }
  }
  console.log(`${row} ×${count}: ${(count / (Number(process.hrtime.bigint() - t) / 1e9)).toFixed(0)} ops/s`);
} finally {
  await c.close();
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
  root.cleanup();
}
const prof = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
for (const f of prof) {
  console.log(join(dir, f));
  summarise(join(dir, f));
}

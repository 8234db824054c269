/**
 * Mutated AddToStoreNar uploads against tix's daemon (issue 6 robustness, for
 * the short way of fast-path.ts and the general handler it falls back to):
 * each session is a 1.37 handshake and a few small-file uploads, of which
 * some words are mutated (bit flips, odd lengths and counts, truncation,
 * deleted or repeated words, as daemon.test.ts's sessions). The daemon must
 * stay alive, log no unexpected failure, keep serving, and leave a store that
 * the reference `nix-store --verify --check-contents` finds clean: whatever
 * got registered holds the contents its NAR hash says.
 * TIX_FUZZ_ADD_SESSIONS sets the count (default 400).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireWriter, hashBytes, StoreDir } from '../../src/formats/index.js';
import { writePathInfo } from '../../src/protocol/worker/serialise.js';
import { Op } from '../../src/protocol/worker/ops.js';
import { WORKER_MAGIC_1 } from '../../src/protocol/worker/version.js';
import { haveReference, makeRoot } from '../harness/index.js';
import { startNixDaemon } from '../differential/daemon-harness.js';
import { assertDaemonSurvived, countTerminators, exchange, mutate, rng } from './daemon-fuzz-lib.js';

const COUNT = Number(process.env.TIX_FUZZ_ADD_SESSIONS ?? 400);
const PARALLEL = 8;

function narOf(contents: Uint8Array, executable: boolean): Uint8Array {
  const w = new WireWriter().string('nix-archive-1').string('(').string('type').string('regular');
  if (executable) w.string('executable').string('');
  return w.string('contents').string(contents).string(')').take();
}

/** One upload of a small file as a content-addressed path, in one or two frames. */
function upload(sd: StoreDir, r: () => number, n: number): Uint8Array {
  const contents = new Uint8Array(Math.floor(r() * 200)).map(() => Math.floor(r() * 256));
  const nar = narOf(contents, r() < 0.3);
  const h = hashBytes('sha256', nar);
  const path = sd.makeFixedOutputPath({ recursive: true, hash: h, name: `fuzz-${n}` });
  const w = new WireWriter().u64(Op.AddToStoreNar);
  writePathInfo(w, sd, { path, narHash: h, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca: `fixed:r:sha256:${h.base32}` }, 16);
  w.u64(0).u64(r() < 0.5 ? 1 : 0); // repair, dontCheckSigs
  const cut = r() < 0.3 ? Math.floor(r() * nar.length) : nar.length;
  if (cut > 0) w.u64(cut).raw(nar.subarray(0, cut));
  if (cut < nar.length) w.u64(nar.length - cut).raw(nar.subarray(cut));
  return w.u64(0).take();
}

test(`${COUNT} sessions of mutated AddToStoreNar uploads leave the daemon alive and the store clean`, { skip: !haveReference() }, async () => {
  const root = makeRoot({ conf: 'trusted-users = root' });
  const d = await startNixDaemon('tix', root);
  try {
    const sd = new StoreDir(root.storeDir);
    const hello = new WireWriter().u64(WORKER_MAGIC_1).u64((1 << 8) | 37).u64(0).u64(0).take();
    const r = rng(0xadd5);
    let next = 0;
    const tally = { added: 0, errors: 0 };
    const worker = async (): Promise<void> => {
      while (next < COUNT) {
        const n = next++;
        const ups: Uint8Array[] = [];
        for (let k = 0, m = 1 + Math.floor(r() * 3); k < m; k++) ups.push(upload(sd, r, n * 4 + k));
        let body: Buffer = Buffer.concat(ups);
        // A few sessions go through unchanged: the mutations must not be all there is.
        for (let k = 0, m = r() < 0.1 ? 0 : 1 + Math.floor(r() * 2); k < m; k++) body = mutate(body, r);
        const t = countTerminators(await exchange(d.socket, Buffer.concat([hello, body]), { idleMs: 150 }));
        tally.added += Math.max(0, t.last - 1); // the handshake's own STDERR_LAST
        tally.errors += t.error;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    await assertDaemonSurvived(d, root);
    if (process.env.TIX_DEBUG) console.log(tally);
    // Both ways were taken: some uploads were added, some refused.
    assert.ok(tally.added > COUNT / 4 && tally.errors > COUNT / 20, JSON.stringify(tally));
  } finally {
    await d.stop();
    root.cleanup();
  }
});

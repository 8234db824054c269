/**
 * The full NAR fuzz run: `node dist/test/fuzz/nar-fuzz.js [cases=100000] [seed=1]`.
 * Prints progress and a summary; exits 1 if any case failed.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REF_BIN } from '../harness/index.js';
import { fuzz } from './nar-fuzz-lib.js';

const cases = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tix-narfuzz-'));
const t0 = Date.now();
const s = await fuzz({
  cases, seed, dir, refBin: REF_BIN,
  onProgress: (p) => console.log(`${p.cases} cases, ${p.accepted} accepted, ${p.rejected} rejected, ${p.failures.length} failures, ${((Date.now() - t0) / 1000).toFixed(0)} s`),
});
rmSync(dir, { recursive: true, force: true });
console.log(`done: ${s.cases} cases (seed ${seed}) in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${s.accepted} restored identically to the reference, ${s.rejected} rejected cleanly, ${s.failures.length} failures`);
for (const f of s.failures.slice(0, 20)) console.log('FAIL', f.slice(0, 500));
process.exitCode = s.failures.length === 0 ? 0 : 1;

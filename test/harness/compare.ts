/**
 * Assertions shared by the differential tests: a command that must succeed,
 * and one command run by both implementations on the same root.
 */
import assert from 'node:assert/strict';
import { REF_BIN, runRef, runTix, type NixRoot, type RunOptions, type RunResult } from './roots.js';

/** `r` succeeded; its stdout. */
export function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * The reference, then tix, run `prog args` on `root`: same status, same stdout
 * bytes, same stderr once the reference's program path (2.8 names itself by
 * it in usage hints) is written as the bare program name. Returns tix's result.
 */
export function sameOnRoot(root: NixRoot, prog: string, args: string[], opts: RunOptions = {}, what = `${prog} ${args.join(' ')}`): RunResult {
  const r = runRef(root, prog, args, opts);
  const t = runTix(root, prog, args, opts);
  assert.equal(t.status, r.status, `${what}: status (tix stderr: ${t.stderr})`);
  assert.deepEqual(t.stdoutBytes, r.stdoutBytes, `${what}: stdout`);
  assert.equal(t.stderr, r.stderr.replaceAll(`${REF_BIN}/${prog}`, prog), `${what}: stderr`);
  return t;
}

/** `tix log --recursive`: prints the per-build record of recursive calls. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Settings } from '../core/index.js';
import { RecursiveCallLog, recursiveLogFile } from '../build/index.js';
import type { CliContext } from './context.js';
import { run } from './tix-log.js';

function ctxFor(dir: string): { ctx: CliContext; out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  const ctx: CliContext = {
    programName: 'tix',
    env: {},
    settings: new Settings(),
    dirs: { storeDir: join(dir, 'store'), stateDir: join(dir, 'var'), logDir: join(dir, 'log'), confDir: join(dir, 'etc') },
    stdout,
    stderr: new PassThrough(),
    stdin: new PassThrough(),
  };
  return { ctx, out: () => text };
}

test('prints each recorded call, as text and as JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-log-'));
  try {
    const drv = `${'a'.repeat(32)}-outer.drv`;
    const log = new RecursiveCallLog({ file: recursiveLogFile(join(dir, 'log'), drv) });
    log.record('addToStore', 'foobar', 'ok', `${dir}/store/${'b'.repeat(32)}-foobar`);
    log.record('buildPaths', `${dir}/store/${'c'.repeat(32)}-secret`, 'denied', 'cannot build it');
    const { ctx, out } = ctxFor(dir);
    assert.equal(await run(['--recursive', join(dir, 'store', drv)], ctx), 0);
    const lines = out().trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z addToStore foobar: ok \(.*-foobar\)$/);
    assert.match(lines[1]!, /buildPaths .*-secret: denied \(cannot build it\)$/);
    const j = ctxFor(dir);
    assert.equal(await run(['--recursive', '--json', join(dir, 'store', drv)], j.ctx), 0);
    assert.deepEqual((JSON.parse(j.out()) as { op: string }[]).map((c) => c.op), ['addToStore', 'buildPaths']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a build without a record, or no path at all, is an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-log-'));
  try {
    const { ctx } = ctxFor(dir);
    await assert.rejects(() => run(['--recursive', join(dir, 'store', `${'d'.repeat(32)}-x.drv`)], ctx), /made no recursive Nix calls/);
    await assert.rejects(() => run(['--recursive'], ctx), /needs a derivation or output path/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

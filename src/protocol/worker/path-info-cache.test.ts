/** The path-info cache's freshness rules against a real, watched directory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PathInfoCache, bumpPathInfoGeneration, type PathInfoCacheOptions } from './path-info-cache.js';

/** Options whose `stillValid` always says yes and counts its calls: a hit it did not vouch for is the watch's. */
function counting(watchDir: string | undefined): PathInfoCacheOptions & { checks: number } {
  const o = { checks: 0, watchDir, stillValid: () => (o.checks++, true) };
  return o;
}

/** Turns of the event loop until `cond` holds (inotify events arrive asynchronously); false after 5 s. */
async function until(cond: () => boolean): Promise<boolean> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

const answer = (s: string): Buffer => Buffer.from(s);

test('watched: a connection is vouched for once per entry, a deletion drops the entry without asking the disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-pic-'));
  try {
    const file = join(dir, 'aaaa-x');
    writeFileSync(file, 'x');
    const o = counting(dir);
    const a = new PathInfoCache(o);
    a.set(file, answer('A'), a.mark());
    assert.equal(a.get(file)?.toString(), 'A');
    assert.equal(o.checks, 0, 'its own answer: no check');
    const b = new PathInfoCache(o);
    assert.equal(b.get(file)?.toString(), 'A');
    assert.equal(b.get(file)?.toString(), 'A');
    assert.equal(o.checks, 1, 'another connection: checked once');
    unlinkSync(file);
    assert.ok(await until(() => a.get(file) === undefined), 'the deletion dropped the entry');
    assert.equal(o.checks, 1, 'dropped by the watch, not by a check');
    assert.equal(b.get(file), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watched: an event while an answer is read voids it; a changing operation empties the cache', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-pic-'));
  try {
    const o = counting(dir);
    const a = new PathInfoCache(o);
    const p = join(dir, 'bbbb-y');
    const readAt = a.mark();
    writeFileSync(join(dir, 'other'), '');
    assert.ok(await until(() => a.mark() !== readAt), 'the event was seen');
    a.set(p, answer('B'), readAt);
    assert.equal(a.get(p), undefined, 'read across an event: not kept');
    a.set(p, answer('B'), a.mark());
    assert.equal(a.get(p)?.toString(), 'B');
    bumpPathInfoGeneration();
    assert.equal(a.get(p), undefined, 'emptied by a changing operation');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not watched (no watchDir, a directory that cannot be watched, or one that went away): every hit is checked', async () => {
  const gone = mkdtempSync(join(tmpdir(), 'tix-pic-'));
  const cases: [string, PathInfoCacheOptions & { checks: number }][] = [
    ['no watchDir', counting(undefined)],
    ['missing directory', counting(join(gone, 'missing'))],
    ['removed directory', counting(gone)],
  ];
  try {
    for (const [name, o] of cases) {
      const a = new PathInfoCache(o);
      if (name === 'removed directory') {
        a.set('/x', answer('kept until the watch ends'), a.mark());
        rmSync(gone, { recursive: true, force: true });
        assert.ok(await until(() => a.get('/x') === undefined), `${name}: emptied when the watch ended`);
      }
      a.set('/nix/store/cccc-z', answer('C'), a.mark());
      const before = o.checks;
      for (let i = 0; i < 3; i++) assert.equal(a.get('/nix/store/cccc-z')?.toString(), 'C', name);
      assert.equal(o.checks - before, 3, `${name}: checked on every hit`);
    }
  } finally {
    rmSync(gone, { recursive: true, force: true });
  }
});

test('watched: many events while nothing is cached pause the watch (hits then checked); the next kept answer resumes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tix-pic-'));
  try {
    const o = counting(dir);
    const a = new PathInfoCache(o);
    const file = join(dir, 'dddd-w');
    writeFileSync(file, 'w');
    // A stream of adds: each bumps the generation and makes events in the directory.
    assert.equal(a.watching, true);
    // Until the watch pauses: each round's events are seen (the mark moves) while it watches.
    for (let i = 0; i < 100 && a.watching; i++) {
      bumpPathInfoGeneration();
      const before = a.mark();
      writeFileSync(join(dir, `e${i}`), '');
      unlinkSync(join(dir, `e${i}`));
      await until(() => a.mark() !== before);
    }
    assert.equal(a.watching, false, 'a stream of events with nothing cached pauses the watch');
    // Whatever events are still on their way.
    await new Promise((r) => setTimeout(r, 50));
    // Paused: an answer kept now was read unwatched, so its first hit asks the disk.
    a.set(file, answer('D'), a.mark());
    assert.equal(a.get(file)?.toString(), 'D');
    assert.equal(o.checks, 1, 'kept while paused: the first hit is checked');
    assert.equal(a.get(file)?.toString(), 'D');
    assert.equal(o.checks, 1, 'then vouched for: the watch is back');
    unlinkSync(file);
    assert.ok(await until(() => a.get(file) === undefined), 'the resumed watch saw the deletion');
    assert.equal(o.checks, 1, 'dropped by the watch, not by a check');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { StorePath } from '../../formats/index.js';
import { LocalStore } from './local-store.js';
import { tempStore as tempStoreIn } from './test-support.js';
import type { TextToAdd } from '../store.js';
import { digestOf } from './add-to-store.js';

const tempStore = (at?: string) => tempStoreIn('tix-texts-', at);

const enc = (s: string): Uint8Array => Buffer.from(s);

/**
 * `n` items: plain texts, duplicates, texts referring to earlier items, and
 * a `.drv` whose outputs land in DerivationOutputs. References are filled
 * in from the paths a first pass computes, so the items are built twice.
 */
async function makeItems(s: LocalStore, n: number): Promise<TextToAdd[]> {
  const items: TextToAdd[] = [];
  const paths: StorePath[] = [];
  for (let i = 0; i < n; i++) {
    let it: TextToAdd;
    if (i % 7 === 3) it = items[i - 2]!; // a duplicate of an earlier item
    else if (i % 5 === 4) it = { name: `r${i}`, text: enc(`refers ${i}`), references: [paths[i - 1]!, paths[i >> 1]!] };
    else if (i % 50 === 10) {
      const out = `${s.storeDir.dir}/${'1'.repeat(32)}-out${i}`;
      it = { name: `d${i}.drv`, text: enc(`Derive([("out","${out}","","")],[],[],"x86_64-linux","/bin/sh",[],[])`), references: [paths[i - 1]!] };
    } else it = { name: `t${i}`, text: enc(`text ${i}\n`), references: [] };
    items.push(it);
    paths.push(s.storeDir.makeTextPath(it.name, digestOf('sha256', it.text), it.references));
  }
  return items;
}

/** Everything the database and the store dir say about the store. */
function snapshot(t: { store: LocalStore; dir: string }): unknown {
  const dump = spawnSync('sqlite3', [join(t.dir, 'var', 'db', 'db.sqlite'),
    'select v.path, v.hash, v.narSize, v.ca, v.deriver, (select group_concat(r.path) from Refs join ValidPaths r on r.id = reference where referrer = v.id), ' +
    '(select group_concat(d.id || "=" || d.path) from DerivationOutputs d where d.drv = v.id) from ValidPaths v order by v.path'], { encoding: 'utf8' });
  assert.equal(dump.status, 0, dump.stderr);
  const storeDir = join(t.dir, 'store');
  const files = readdirSync(storeDir).filter((n) => n !== '.links').sort().map((n) => {
    const st = statSync(join(storeDir, n));
    return [n, st.mode & 0o7777, st.mtimeMs, readFileSync(join(storeDir, n), 'utf8')];
  });
  return { db: dump.stdout.replaceAll(t.dir, '<root>'), files };
}

test('addTextsToStore: same paths, rows and files as one addTextToStore per item (chunks, duplicates, references, .drv)', async () => {
  // Both runs use a store at the same place, so the paths compare as they are.
  const at = mkdtempSync(join(tmpdir(), 'tix-texts-'));
  try {
    for (const n of [1, 20, 700]) {
      const a = tempStore(join(at, 'r'));
      const items = await makeItems(a.store, n);
      const batch = await a.store.addTextsToStore(items);
      const snapBatch = snapshot(a);
      // Adding again changes nothing.
      assert.deepEqual((await a.store.addTextsToStore(items)).map(String), batch.map(String), `n=${n}`);
      assert.deepEqual(snapshot(a), snapBatch, `n=${n}, again`);
      assert.deepEqual(readdirSync(join(a.dir, 'store')).filter((f) => f.endsWith('.lock') || f.includes('tix-tmp')), []);
      await a.done();
      const b = tempStore(join(at, 'r'));
      const one: StorePath[] = [];
      for (const it of items) one.push(await b.store.addTextToStore(it.name, it.text, it.references));
      assert.deepEqual(batch.map(String), one.map(String), `n=${n}`);
      // Single adds' path locks are names of the store's lock run until its 2 ms timer ends it
      // (set earlier and due sooner than this timer, so it has run by then).
      await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(snapshot(b), snapBatch, `n=${n}`);
      await b.done();
    }
  } finally {
    rmSync(at, { recursive: true, force: true });
  }
});

test('addTextsToStore: a failing item leaves the items before it added and nothing after it', async () => {
  const cases: [string, (ok: StorePath) => TextToAdd, RegExp][] = [
    ['reference to an invalid path', () => ({ name: 'bad', text: enc('bad'), references: [new StorePath('00000000000000000000000000000000-missing')] }), /because it references path .* which is not valid/],
    ['invalid name', () => ({ name: 'a b', text: enc('bad'), references: [] }), /contains illegal character/],
  ];
  for (const [what, bad, err] of cases) {
    const t = tempStore();
    try {
      const before = Array.from({ length: 300 }, (_, i) => ({ name: `b${i}`, text: enc(`before ${i}`), references: [] as StorePath[] }));
      const okPath = t.store.storeDir.makeTextPath('b0', digestOf('sha256', before[0]!.text), []);
      const after = { name: 'after', text: enc('after'), references: [] };
      await assert.rejects(t.store.addTextsToStore([...before, bad(okPath), after]), err, what);
      const valid = await t.store.queryAllValidPaths();
      assert.equal(valid.length, before.length, what);
      assert.ok(valid.every((p) => p.name.startsWith('b')), what);
      for (const p of valid) assert.equal(readFileSync(t.store.print(p), 'utf8'), `before ${p.name.slice(1)}`, what);
      assert.deepEqual(readdirSync(join(t.dir, 'store')).filter((n) => n.endsWith('.lock')), [], what);
    } finally {
      await t.done();
    }
  }
});

test('addTextsToStore: a reference to a later item of the batch is refused, as with single adds', async () => {
  const t = tempStore();
  try {
    const later = { name: 'later', text: enc('later'), references: [] as StorePath[] };
    const laterPath = t.store.storeDir.makeTextPath('later', digestOf('sha256', later.text), []);
    await assert.rejects(t.store.addTextsToStore([{ name: 'early', text: enc('early'), references: [laterPath] }, later]), /which is not valid/);
    assert.deepEqual(await t.store.queryAllValidPaths(), []);
  } finally {
    await t.done();
  }
});

test('addTextsToStore: an unregistered leftover under a final name is replaced; a valid path missing on disk is written again', async () => {
  const t = tempStore();
  try {
    const items = Array.from({ length: 10 }, (_, i) => ({ name: `l${i}`, text: enc(`leftover ${i}\n`), references: [] as StorePath[] }));
    const paths = await t.store.addTextsToStore(items);
    spawnSync('chmod', ['-R', 'u+w', join(t.dir, 'store')]);
    // A half-written leftover of a killed adder (unregistered) under a fresh item's name.
    const fresh = { name: 'fresh', text: enc('fresh\n'), references: [] as StorePath[] };
    const freshPath = t.store.print(t.store.storeDir.makeTextPath('fresh', digestOf('sha256', fresh.text), []));
    writeFileSync(freshPath, 'fre');
    rmSync(t.store.print(paths[3]!));
    await t.store.addTextsToStore([...items, fresh]);
    assert.equal(readFileSync(freshPath, 'utf8'), 'fresh\n');
    assert.equal(statSync(freshPath).mode & 0o7777, 0o444);
    assert.equal(readFileSync(t.store.print(paths[3]!), 'utf8'), 'leftover 3\n');
    assert.equal(await t.store.verifyStore(true, false), false);
  } finally {
    await t.done();
  }
});

/**
 * Fuzzing the lexer, parser and evaluator with mutated corpus expressions
 * (fixed seed): every input must end in a value or a Nix-style error
 * (`error: …`, status 1) — never a JS exception ("internal error"), a hang
 * or a crash of the evaluator thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRoot } from '../harness/index.js';
import { loadCorpus, makeFixtures, corpusEnv, runTixBatch, type Case } from '../differential/eval-corpus-lib.js';
import { mulberry32 } from '../harness/index.js';

const rng = mulberry32;

const PIECES = ['(', ')', '{', '}', '[', ']', ';', ':', '.', ',', '@', '?', '"', "''", '${', '}', '\\', 'rec ', 'let ', 'in ', 'or ', 'with ', 'inherit ', 'x', 'a.b', './p', '<p>', '//', '++', '->', '==', '!', '-', '#', '/*', '*/', '\n', ' ', '...', '=', 'é', '\0', '$'];

function mutate(s: string, r: () => number): string {
  let out = s;
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * (out.length + 1));
    const op = Math.floor(r() * 4);
    if (op === 0 && out.length > 0) out = out.slice(0, i) + out.slice(i + 1 + Math.floor(r() * 3));
    else if (op === 1) out = out.slice(0, i) + PIECES[Math.floor(r() * PIECES.length)]! + out.slice(i);
    else if (op === 2 && out.length > 2) {
      const j = Math.floor(r() * out.length);
      const piece = out.slice(Math.min(i, j), Math.max(i, j)).replace(/[0-9]/g, '');
      out = out.slice(0, i) + piece.slice(0, 20) + out.slice(i);
    } else out = out.slice(0, i) + out.slice(i).split('').reverse().join('').slice(0, 5) + out.slice(i + 5);
  }
  return out;
}

test('fuzz: mutated corpus expressions never crash the evaluator', { timeout: 600_000 }, async () => {
  const r = rng(20261130);
  const corpus = loadCorpus();
  const cases: Case[] = [];
  for (let k = 0; k < 1500; k++) {
    const c = corpus[Math.floor(r() * corpus.length)]!;
    cases.push({ id: `${c.id}#${k}`, expr: mutate(c.expr, r) });
  }
  // Random bytes for the lexer.
  for (let k = 0; k < 200; k++) {
    const len = Math.floor(r() * 40);
    cases.push({ id: `bytes#${k}`, expr: Array.from({ length: len }, () => String.fromCharCode(Math.floor(r() * 128))).join('') });
  }
  const root = makeRoot();
  try {
    const work = makeFixtures(root);
    const env = corpusEnv(root, work);
    const evals = await runTixBatch(cases, env, work, root);
    const parses = await runTixBatch(cases, env, work, root, { mode: 'parse', strict: false });
    const bad: string[] = [];
    [evals, parses].forEach((res, which) => res.forEach((o, i) => {
      // A warning or a tool's own output (git) may come before the error, as in 2.8.
      const ok = o.status === 0 || (o.status === 1 && /^error: /m.test(o.stderr) && !o.stderr.includes('internal error'));
      if (!ok) bad.push(`${which ? 'parse' : 'eval'} ${cases[i]!.id}: ${JSON.stringify(cases[i]!.expr)} -> ${o.status} ${o.stderr.split('\n')[0]}`);
    }));
    const failures = evals.filter((o) => o.status !== 0).length;
    console.log(`fuzz: ${cases.length} inputs, ${failures} evaluation errors, ${bad.length} crashes`);
    assert.deepEqual(bad, []);
  } finally {
    root.cleanup();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEADER_BYTES, encodeRequest, parseHeader, parseRequest, refusal, reply, type LaunchRequest } from './request.js';

const base: LaunchRequest = { argv0: '/x/bin/nix-store', program: 'nix-store', umask: 0o22, cwd: '/tmp', args: ['--add', 'f'], env: { A: '1', B: 'x=y' } };

function body(r: LaunchRequest): Buffer {
  return encodeRequest(r).subarray(HEADER_BYTES);
}

test('requests round-trip', () => {
  const cases: [string, LaunchRequest][] = [
    ['plain', base],
    ['no args, no env', { ...base, args: [], env: {} }],
    ['empty and non-ASCII arguments', { ...base, args: ['', 'é', '-E', 'a b'], env: { 'K': '' } }],
    ['umask 0777', { ...base, umask: 0o777 }],
  ];
  for (const [name, r] of cases) {
    const enc = encodeRequest(r);
    assert.equal(parseHeader(enc.subarray(0, HEADER_BYTES)), enc.length - HEADER_BYTES, name);
    assert.deepEqual(parseRequest(enc.subarray(HEADER_BYTES)), r, name);
  }
});

test('bad requests are named, not thrown', () => {
  const cases: [string, Buffer, string][] = [
    ['short', Buffer.from('a\0b\0'), 'truncated request'],
    ['argc past the end', Buffer.from('a\0b\x0018\0/\x005\0x\0'), 'bad argument count'],
    ['argc not a number', Buffer.from('a\0b\x0018\0/\0z\0'), 'bad argument count'],
    ['umask out of range', Buffer.from('a\0b\x00999\0/\x000\0'), 'bad umask'],
  ];
  for (const [name, b, why] of cases) assert.equal(parseRequest(b), why, name);
  assert.equal(parseHeader(Buffer.from('TIX2\0\0\0\0')), 'bad request header');
  const big = Buffer.from('TIX1\0\0\0\x7f');
  assert.equal(parseHeader(big), 'request too large');
});

test('environment: entries without = are dropped, the first of a duplicate name wins', () => {
  const b = Buffer.concat([body({ ...base, env: {} }), Buffer.from('NOEQ\0K=1\0K=2\0=v\0')]);
  const r = parseRequest(b);
  assert.ok(typeof r !== 'string');
  assert.deepEqual(r.env, { K: '1' });
});

test('replies', () => {
  assert.deepEqual([...reply('P', 1234)], [0x50, 0xd2, 0x04, 0, 0]);
  assert.deepEqual([...reply('S', 256)], [0x53, 0, 1, 0, 0]);
  const r = refusal('no');
  assert.equal(r.subarray(0, 1).toString(), 'R');
  assert.equal(r.readUInt32LE(1), 2);
  assert.equal(r.subarray(5).toString(), 'no');
});

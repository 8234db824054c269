/** `allowed-users` / `trusted-users` matching (2.8 daemon.cc `matchUser`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Settings } from '../core/index.js';
import { isAllowed, isTrusted, matchUser, peerNames, type PeerNames } from './daemon.js';

const alice: PeerNames = { user: 'alice', group: 'users', memberOf: new Set(['wheel']) };

test('matchUser: *, names, @primary-group, @member-group', () => {
  const cases: [string[], boolean][] = [
    [['*'], true],
    [['alice'], true],
    [['bob'], false],
    [['@users'], true],
    [['@wheel'], true],
    [['@staff'], false],
    [[], false],
  ];
  for (const [list, want] of cases) assert.equal(matchUser(alice, list), want, list.join(' '));
});

test('trusted users are always allowed; the build users group never is', () => {
  const s = new Settings();
  s.set('allowed-users', 'root');
  s.set('trusted-users', 'alice');
  assert.equal(isAllowed(s, alice), true);
  assert.equal(isTrusted(s, alice), true);
  s.set('trusted-users', 'root');
  assert.equal(isAllowed(s, alice), false);
  s.set('allowed-users', '*');
  s.set('build-users-group', 'users');
  assert.equal(isAllowed(s, alice), false);
});

test('unknown peers are neither trusted nor matched by name', () => {
  const names = peerNames(undefined);
  const s = new Settings();
  assert.equal(isTrusted(s, names), false);
  assert.equal(isAllowed(s, names), true, "default allowed-users is '*'");
  assert.equal(peerNames({ uid: 0, gid: 0, pid: 1 }).user, 'root');
});

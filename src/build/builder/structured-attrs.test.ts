import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dumpJson, shellEscape, structuredAttrsShell } from './structured-attrs.js';

// Expected text observed from Nix 2.8's .attrs.sh / .attrs.json for the same attributes.
test('structuredAttrsShell matches 2.8', () => {
  const json = {
    bar: { a: 1, b: 's p' }, builder: '/bin/bash', f: false, foo: [1, 2, 'x', 1.5, null, true], n: 42, name: 'sa',
    outputs: { dev: '/s/dev', out: '/s/out' }, s: 'a\'b"c$d', system: 'x86_64-linux', 'not-a-var': 'x', t: true, z: null,
    lst: ['a', ['b']], fl2: 2,
  };
  assert.equal(
    structuredAttrsShell(json),
    [
      "declare -A bar=(['a']=1 ['b']='s p' )",
      "declare builder='/bin/bash'",
      'declare f=',
      'declare fl2=2',
      'declare n=42',
      "declare name='sa'",
      "declare -A outputs=(['dev']='/s/dev' ['out']='/s/out' )",
      "declare s='a'\\''b\"c$d'",
      "declare system='x86_64-linux'",
      'declare t=1',
      "declare z=''",
      '',
    ].join('\n'),
  );
});

test('dumpJson sorts keys and is compact', () => {
  const cases: Array<[unknown, string]> = [
    [{ b: 1, a: [true, null, 's"'] }, '{"a":[true,null,"s\\""],"b":1}'],
    [{ '10': 1, '9': 2, a: {} }, '{"10":1,"9":2,"a":{}}'],
    ['\u0001\n', '"\\u0001\\n"'],
  ];
  for (const [v, want] of cases) assert.equal(dumpJson(v as never), want);
});

test('shellEscape', () => {
  for (const [s, want] of [['', "''"], ["it's", "'it'\\''s'"], ['$x "y"', "'$x \"y\"'"]]) assert.equal(shellEscape(s!), want);
});

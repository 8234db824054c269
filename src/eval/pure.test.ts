/** Pure evaluation mode (`nix eval` without `--impure`), behaviour checked against Nix 2.8.0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvalState } from './state.js';
import { MemoryIO } from './io.js';
import { forceValueDeep, printValue } from './print.js';
import { EvalError } from './errors.js';

const FILES = new Map<string, string>([['/etc/hostname', 'vm\n'], ['/nix/store/00000000000000000000000000000000-x/f', 'in store']]);

function run(expr: string, pureEval: boolean): string {
  const st = new EvalState({ io: new MemoryIO(FILES, { env: { HOME: '/root' } }), pureEval });
  try {
    const v = st.evalString(expr, '/tmp');
    forceValueDeep(v);
    return printValue(v);
  } catch (e) {
    if (e instanceof EvalError) return `error: ${e.message}`;
    throw e;
  }
}

const CASES: Array<[string, string, string]> = [
  // expr, pure result, impure result
  ['builtins ? currentSystem', 'false', 'true'],
  ['builtins ? currentTime', 'false', 'true'],
  ['builtins.length (builtins.attrNames builtins)', '107', '109'],
  ['builtins.getEnv "HOME"', '""', '"/root"'],
  ['builtins.readFile /etc/hostname',
    "error: access to absolute path '/etc/hostname' is forbidden in pure eval mode (use '--impure' to override)", '"vm\\n"'],
  ['builtins.pathExists /etc/hostname', 'false', 'true'],
  // Nor the store: only what the evaluation fetched or built (test/differential/eval-pure.test.ts).
  ['builtins.readFile /nix/store/00000000000000000000000000000000-x/f',
    "error: access to absolute path '/nix/store/00000000000000000000000000000000-x/f' is forbidden in pure eval mode (use '--impure' to override)",
    '"in store"'],
  ['<nixpkgs>', "error: cannot look up '<nixpkgs>' in pure evaluation mode (use '--impure' to override)",
    "error: file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I)"],
  ['(builtins.tryEval <nixpkgs>).success', 'false', 'false'],
];

for (const [expr, pure, impure] of CASES) {
  test(`pure: ${expr}`, () => assert.equal(run(expr, true), pure));
  test(`impure: ${expr}`, () => assert.equal(run(expr, false), impure));
}

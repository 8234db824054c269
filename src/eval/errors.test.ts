/**
 * Error rendering vectors: stderr of Nix 2.8.0 `nix-instantiate --eval --strict [--show-trace]
 * /tmp/ec/tt/NAME.nix` (positions, excerpts, trace frames, the --show-trace hint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvalState } from './state.js';
import { MemoryIO } from './io.js';
import { forceValueDeep } from './print.js';
import { EvalError, renderEvalError } from './errors.js';

const DIR = '/tmp/ec/tt';
const CASES: Array<[string, string, boolean, string]> = [
  ["t1", "let\n  f = x: x.a;\n  g = { y }: f y;\nin { z = g { y = 1; }; }\n", false, "error: value is an integer while a set was expected\n\n       at /tmp/ec/tt/t1.nix:2:10:\n\n            1| let\n            2|   f = x: x.a;\n             |          ^\n            3|   g = { y }: f y;\n(use '--show-trace' to show detailed location information)\n"],
  ["t1", "let\n  f = x: x.a;\n  g = { y }: f y;\nin { z = g { y = 1; }; }\n", true, "error: value is an integer while a set was expected\n\n       at /tmp/ec/tt/t1.nix:2:10:\n\n            1| let\n            2|   f = x: x.a;\n             |          ^\n            3|   g = { y }: f y;\n\n       \u2026 while evaluating 'f'\n\n       at /tmp/ec/tt/t1.nix:2:7:\n\n            1| let\n            2|   f = x: x.a;\n             |       ^\n            3|   g = { y }: f y;\n\n       \u2026 from call site\n\n       at /tmp/ec/tt/t1.nix:3:14:\n\n            2|   f = x: x.a;\n            3|   g = { y }: f y;\n             |              ^\n            4| in { z = g { y = 1; }; }\n\n       \u2026 while evaluating 'g'\n\n       at /tmp/ec/tt/t1.nix:3:7:\n\n            2|   f = x: x.a;\n            3|   g = { y }: f y;\n             |       ^\n            4| in { z = g { y = 1; }; }\n\n       \u2026 from call site\n\n       at /tmp/ec/tt/t1.nix:4:10:\n\n            3|   g = { y }: f y;\n            4| in { z = g { y = 1; }; }\n             |          ^\n\n       \u2026 while evaluating the attribute 'z'\n\n       at /tmp/ec/tt/t1.nix:4:6:\n\n            3|   g = { y }: f y;\n            4| in { z = g { y = 1; }; }\n             |      ^\n"],
  ["t3", "let\n  f = x: builtins.head x;\n  s = { a = { b = f []; }; };\nin builtins.map (y: y + 1) [ s.a.b ]\n", false, "error: list index 0 is out of bounds\n\n       at /tmp/ec/tt/t3.nix:2:10:\n\n            1| let\n            2|   f = x: builtins.head x;\n             |          ^\n            3|   s = { a = { b = f []; }; };\n(use '--show-trace' to show detailed location information)\n"],
  ["t3", "let\n  f = x: builtins.head x;\n  s = { a = { b = f []; }; };\nin builtins.map (y: y + 1) [ s.a.b ]\n", true, "error: list index 0 is out of bounds\n\n       at /tmp/ec/tt/t3.nix:2:10:\n\n            1| let\n            2|   f = x: builtins.head x;\n             |          ^\n            3|   s = { a = { b = f []; }; };\n\n       \u2026 while evaluating 'f'\n\n       at /tmp/ec/tt/t3.nix:2:7:\n\n            1| let\n            2|   f = x: builtins.head x;\n             |       ^\n            3|   s = { a = { b = f []; }; };\n\n       \u2026 from call site\n\n       at /tmp/ec/tt/t3.nix:3:19:\n\n            2|   f = x: builtins.head x;\n            3|   s = { a = { b = f []; }; };\n             |                   ^\n            4| in builtins.map (y: y + 1) [ s.a.b ]\n\n       \u2026 while evaluating the attribute 'a.b'\n\n       at /tmp/ec/tt/t3.nix:3:15:\n\n            2|   f = x: builtins.head x;\n            3|   s = { a = { b = f []; }; };\n             |               ^\n            4| in builtins.map (y: y + 1) [ s.a.b ]\n\n       \u2026 while evaluating anonymous lambda\n\n       at /tmp/ec/tt/t3.nix:4:18:\n\n            3|   s = { a = { b = f []; }; };\n            4| in builtins.map (y: y + 1) [ s.a.b ]\n             |                  ^\n\n       \u2026 from call site\n"],
  ["t4", "let\n  x = { a = x.a; };\nin x.a\n", false, "error: infinite recursion encountered\n\n       at /tmp/ec/tt/t4.nix:2:9:\n\n            1| let\n            2|   x = { a = x.a; };\n             |         ^\n            3| in x.a\n(use '--show-trace' to show detailed location information)\n"],
  ["t4", "let\n  x = { a = x.a; };\nin x.a\n", true, "error: infinite recursion encountered\n\n       at /tmp/ec/tt/t4.nix:2:9:\n\n            1| let\n            2|   x = { a = x.a; };\n             |         ^\n            3| in x.a\n\n       \u2026 while evaluating the attribute 'a'\n\n       at /tmp/ec/tt/t4.nix:2:9:\n\n            1| let\n            2|   x = { a = x.a; };\n             |         ^\n            3| in x.a\n\n       \u2026 while evaluating the attribute 'a'\n\n       at /tmp/ec/tt/t4.nix:2:9:\n\n            1| let\n            2|   x = { a = x.a; };\n             |         ^\n            3| in x.a\n"],
  ["t5", "{ a = 1; }\n.b\n", false, "error: attribute 'b' missing\n\n       at /tmp/ec/tt/t5.nix:1:1:\n\n            1| { a = 1; }\n             | ^\n            2| .b\n       Did you mean a?\n"],
  ["t5", "{ a = 1; }\n.b\n", true, "error: attribute 'b' missing\n\n       at /tmp/ec/tt/t5.nix:1:1:\n\n            1| { a = 1; }\n             | ^\n            2| .b\n       Did you mean a?\n"],
];

for (const [name, src, showTrace, expected] of CASES) {
  test(`render ${name}${showTrace ? ' --show-trace' : ''}`, () => {
    const path = `${DIR}/${name}.nix`;
    const state = new EvalState({ io: new MemoryIO(new Map([[path, src]])), showTrace });
    try {
      forceValueDeep(state.evalFile(path));
      assert.fail('expected an error');
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      assert.equal(renderEvalError(e, { showTrace }), expected);
    }
  });
}

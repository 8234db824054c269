/**
 * A build through a daemon shows the daemon's log on the client, as 2.8's
 * client does: `nix-build` and `nix-store -r` by tix and by the reference,
 * each against the reference daemon and against tix's, print the same
 * "building …" lines and builder output on stderr (store paths normalised).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveReference, makeRoot, runRef, runTix, type RunResult } from '../harness/index.js';
import { startNixDaemon } from './daemon-harness.js';

const skip = !haveReference() ? 'reference Nix 2.8 not installed' : false;

/** Each side builds its own derivation (the salt) so both really build. */
const nixFor = (salt: string): string => `derivation {
  name = "logged-${salt}"; system = builtins.currentSystem; builder = "/bin/bash";
  args = [ "-c" "echo line one from the builder; echo line two >&2; echo ok > $out" ];
}`;

function shape(r: RunResult, salt: string): string {
  return r.stderr.replace(/\/[^ ']*\/[a-z0-9]{32}-/g, '<store>/<hash>-').replaceAll(salt, '<salt>');
}

for (const daemon of ['ref', 'tix'] as const) {
  test(`builds through the ${daemon} daemon show its log on the client like 2.8`, { skip, timeout: 180_000 }, async () => {
    const root = makeRoot();
    const d = await startNixDaemon(daemon, root);
    try {
      const env = { NIX_REMOTE: 'daemon' };
      for (const [prog, args] of [['nix-build', ['--no-out-link']], ['nix-store', ['-r']]] as const) {
        const results: string[] = [];
        for (const [side, run] of [['ref', runRef], ['tix', runTix]] as const) {
          const salt = `${prog}-${side}`;
          const file = join(root.dir, `${salt}.nix`);
          writeFileSync(file, nixFor(salt));
          const target = prog === 'nix-build' ? file : runRef(root, 'nix-instantiate', [file], { env }).stdout.trim();
          const r = run(root, prog, [...args, target], { env });
          assert.equal(r.status, 0, `${side} ${prog}: ${r.stderr}`);
          results.push(shape(r, salt));
        }
        assert.equal(results[1], results[0], `${prog} stderr through the ${daemon} daemon`);
        assert.match(results[0]!, /line one from the builder/);
      }
    } finally {
      await d.stop();
      root.cleanup();
    }
  });
}

// tix run by Node itself (bin/tix runs this when it does not use the warm pool):
// `node tix-node.mjs <argv0> args…` dispatches on basename(argv0) like the
// multi-call binary. Runs the esbuild bundle (dist/bundle, built by
// `npm run build`) when that is at least as new as the last tsc build, else
// the plain tsc output (dist/src), as also with TIX_BUNDLE=0.
import { statSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
function bundleIsFresh() {
  try {
    return statSync(new URL('bundle/main.js', dist)).mtimeMs >= statSync(new URL('.tsbuildinfo', dist)).mtimeMs;
  } catch {
    return false;
  }
}
const [argv0, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], argv0, ...args];
const entry = process.env.TIX_BUNDLE !== '0' && bundleIsFresh() ? 'bundle/main.js' : 'src/cli/main.js';
import(new URL(entry, dist).href).then((m) => m.cliEntry(argv0, args));

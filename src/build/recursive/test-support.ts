/** Shared set-up for the recursive-nix unit tests: a fake host store and a session over it. */
import { Settings } from '../../core/index.js';
import type { StorePath } from '../../formats/index.js';
import { FakeStore } from './fake-store.js';
import type { InnerDrvInfo } from './policy.js';
import { RecursiveRegistry } from './registry.js';
import { RecursiveSession, type RecursiveSessionOptions } from './session.js';

export interface Fixture {
  host: FakeStore;
  session: RecursiveSession;
  input: StorePath;
  inputDep: StorePath;
  unreachable: StorePath;
  outerDrv: StorePath;
  drvs: Map<string, InnerDrvInfo>;
  registry: RecursiveRegistry;
}

export function settingsWith(conf = ''): Settings {
  const s = new Settings();
  s.loadText('experimental-features = nix-command recursive-nix\n' + conf, 'test');
  return s;
}

export function makeFixture(over: Partial<RecursiveSessionOptions> & { conf?: string } = {}): Fixture {
  const host = new FakeStore();
  const inputDep = host.put('dep', 'dependency');
  const input = host.put('config.nix', 'input with ' + host.storeDir.print(inputDep), [inputDep], {
    deriver: host.storeDir.parse(`${host.storeDir.dir}/${'0'.repeat(32)}-config.drv`),
  });
  const unreachable = host.put('secret', 'top secret');
  const outerDrv = host.put('outer.drv', 'Derive(outer)');
  const drvs = new Map<string, InnerDrvInfo>();
  const registry = over.registry ?? new RecursiveRegistry();
  const session = new RecursiveSession({
    next: host,
    settings: settingsWith(over.conf),
    drvPath: outerDrv,
    system: 'x86_64-linux',
    requiredSystemFeatures: ['recursive-nix'],
    inputClosure: [input, inputDep],
    readDerivation: async (p) => {
      const d = drvs.get(p.baseName);
      if (d === undefined) throw new Error(`no such test drv ${p.baseName}`);
      return d;
    },
    registry,
    ...over,
  });
  return { host, session, input, inputDep, unreachable, outerDrv, drvs, registry };
}

/** A plain inner derivation for x86_64-linux with one output. */
export function plainDrv(out: StorePath | undefined, extra: Partial<InnerDrvInfo> = {}): InnerDrvInfo {
  return { system: 'x86_64-linux', requiredSystemFeatures: [], fixedOutput: false, inputDrvs: [], outputPaths: [out], ...extra };
}

export async function collectText(src: AsyncIterable<Uint8Array>): Promise<string> {
  let s = '';
  for await (const c of src) s += Buffer.from(c).toString('utf8');
  return s;
}

export async function* bytesOf(s: string): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(Buffer.from(s));
}

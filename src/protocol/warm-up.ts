/**
 * Warming a daemon's hot paths before it serves (no counterpart in Nix 2.8,
 * whose daemon is compiled ahead of time). V8 compiles the request loop, the
 * AddToStoreNar upload, the store's add and registration code and
 * QueryPathInfo only once they have run a while: measured on a fresh daemon,
 * the first ~3,000 small adds cost 2-3x the CPU of later ones (TurboFan
 * compiled ~160 functions meanwhile, ~0.5-0.9 s of compile time), so the
 * first clients of a new daemon paid for its JIT.
 *
 * `warmUpDaemon` serves a throwaway store of the caller's (never the served
 * one) on a throwaway socket and drives it from this process with the
 * RemoteStore client for a bounded wall-clock time: small AddToStoreNar
 * uploads, every fourth followed by two QueryPathInfo (the general loop, then
 * the cached short way), now and then an IsValidPath, an AddTextToStore and
 * a new client connection.
 * The code it runs is the daemon's own, over a real Unix socket, so the
 * optimised code and the shapes it learns are those real clients meet;
 * meanwhile V8 looks for functions to optimise more often (`tierUpQuicker`).
 * Never throws: it is only an optimisation.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { type Settings } from '../core/index.js';
import { WireWriter, hashBytes, type StoreDir } from '../formats/index.js';
import type { Store, ValidPathInfo } from '../store/store.js';
import { startDaemon } from './daemon.js';
import { RemoteStore } from './worker/client.js';
import { unixConnector } from './worker/client-conn.js';
import type { PathInfoCacheOptions } from './worker/path-info-cache.js';

export interface WarmUpOptions {
  /** A throwaway store, served like the real one (the same wrapping), never the real one. */
  store: Store;
  /** A private directory for the throwaway socket. */
  socketDir: string;
  settings: Settings;
  /** A cache options object of the throwaway store's own. */
  pathInfoCache?: PathInfoCacheOptions;
  /** Wall-clock budget in milliseconds (serving starts after it). */
  budgetMs: number;
  /** At most this many rounds (one add and its queries each). */
  maxRounds?: number;
  /** Polled between rounds: true ends the warm-up (the daemon was told to exit). */
  stop?: () => boolean;
}

/** A NAR of one small regular file, as the bench and `nix copy` of a small path send. */
function narOf(s: string): Uint8Array {
  return new WireWriter().string('nix-archive-1').string('(').string('type').string('regular').string('contents').string(s).string(')').take();
}

function smallPath(sd: StoreDir, i: number): { info: ValidPathInfo; nar: Uint8Array } {
  const nar = narOf(`tix daemon warm-up ${i}`);
  const narHash = hashBytes('sha256', nar);
  const path = sd.makeFixedOutputPath({ recursive: true, hash: narHash, name: `warm-up-${i}` });
  const ca = `fixed:r:${narHash.toString('base32')}`;
  return { info: { path, narHash, narSize: nar.length, references: [], registrationTime: 0, ultimate: false, sigs: [], ca }, nar };
}

/**
 * One round, as a client that waits for each reply sends it: the daemon meets
 * each request alone, as it does from real clients (requests sent in batches
 * warmed it less: the code then met other paths than it later runs).
 */
async function round(r: RemoteStore, i: number): Promise<void> {
  const { info, nar } = smallPath(r.storeDir, i);
  await r.addToStoreNar(info, (async function* () { yield nar; })());
  if (i % 4 === 0) {
    await r.queryPathInfo(info.path);
    await r.queryPathInfo(info.path);
  }
  if (i % 16 === 0) {
    await r.isValidPath(info.path);
    await r.addTextToStore(`warm-up-text-${i}`, new TextEncoder().encode(`warm-up ${i}`), []);
    // A client's connection: accept, peer credentials, handshake, SetOptions, close.
    const other = new RemoteStore(r.opts);
    await other.queryPathInfo(info.path);
    await other.close();
  }
}

/** V8 11.3's (Node 20's) interrupt budget: how much bytecode a function runs between tier-up checks. */
const V8_INTERRUPT_BUDGET = 67584;

/**
 * While warming up, V8 checks functions for optimisation after a quarter of
 * its usual budget, so they reach TurboFan within the warm-up's fewer rounds
 * (bench/daemon, tmpfs roots, load ~6: the first 1,000 adds after a 500 ms
 * warm-up cost ~300 us of CPU each with this, ~390 without, ~250 when warm).
 * The default is put back afterwards. Only on the V8 whose default we know,
 * and not when the user set the flag.
 */
function tierUpQuicker(): boolean {
  if (!process.versions.v8.startsWith('11.3.')) return false;
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('interrupt-budget'))) return false;
  setFlagsFromString(`--interrupt-budget=${V8_INTERRUPT_BUDGET / 4}`);
  return true;
}

/** Run the daemon's hot paths for about `budgetMs`; the number of rounds completed. */
export async function warmUpDaemon(o: WarmUpOptions): Promise<number> {
  const end = performance.now() + o.budgetMs;
  const max = o.maxRounds ?? 3000;
  let done = 0;
  const quicker = tierUpQuicker();
  try {
    const socketPath = join(o.socketDir, 'socket');
    const daemon = await startDaemon({ socketPath, store: o.store, settings: o.settings, pathInfoCache: o.pathInfoCache });
    const r = new RemoteStore({ storeDir: o.store.storeDir.dir, connect: unixConnector(socketPath), maxConnections: 1 });
    try {
      for (; done < max && performance.now() < end && o.stop?.() !== true; done++) await round(r, done);
    } finally {
      await r.close();
      await daemon.close();
    }
  } catch {
    // Only an optimisation: the real daemon starts anyway.
  } finally {
    if (quicker) setFlagsFromString(`--interrupt-budget=${V8_INTERRUPT_BUDGET}`);
  }
  return done;
}

/**
 * Worker-protocol constants (libstore/worker-protocol.hh). Versions are
 * `(major << 8) | minor`; every gate is "negotiated minor ≥ N", with
 * negotiated = min(ours, peer's) as newer CppNix computes it.
 */
export const WORKER_MAGIC_1 = 0x6e697863;
export const WORKER_MAGIC_2 = 0x6478696f;

/** We speak 1.37: the newest version without the 1.38 feature exchange (spec §10). */
export const PROTOCOL_VERSION = (1 << 8) | 37;
/** Oldest client version served (Nix 2.1–2.3). */
export const MIN_CLIENT_VERSION = (1 << 8) | 21;
/** The nixVersion string sent in the handshake (≥1.33). Clients only display it. */
export const NIX_VERSION = '2.8.0';

export const STDERR_NEXT = 0x6f6c6d67;
export const STDERR_READ = 0x64617461;
export const STDERR_WRITE = 0x64617416;
export const STDERR_LAST = 0x616c7473;
export const STDERR_ERROR = 0x63787470;
export const STDERR_START_ACTIVITY = 0x53545254;
export const STDERR_STOP_ACTIVITY = 0x53544f50;
export const STDERR_RESULT = 0x52534c54;

export function majorOf(v: number): number {
  return v >> 8;
}
export function minorOf(v: number): number {
  return v & 0xff;
}
export function formatVersion(v: number): string {
  return `${majorOf(v)}.${minorOf(v)}`;
}

/** Trust flag sent to ≥1.35 clients. */
export const TrustFlag = { Unknown: 0, Trusted: 1, NotTrusted: 2 } as const;

/** Public surface of `protocol`: the worker-protocol server, daemon and client store. */
export * from './errors.js';
export { serveConnection, currentOpLogger, currentOpContext, type OpContext, allConnections, ConnectionSet, type ServeOptions, type PeerCredentials, type ServerConnection, type Duplex } from './worker/server.js';
export { RemoteStore, type RemoteStoreOptions } from './worker/client.js';
export { unixConnector, commandConnector, type Connector } from './worker/client-conn.js';
export { PROTOCOL_VERSION, NIX_VERSION, MIN_CLIENT_VERSION } from './worker/version.js';
export type { BasicDerivation } from './worker/serialise.js';
export { PathInfoCache, type PathInfoCacheOptions } from './worker/path-info-cache.js';
export { startDaemon, isTrusted, isAllowed, peerNames, matchUser, type PeerNames, type DaemonOptions, type Daemon } from './daemon.js';
export { getPeerCredentials } from './peer-cred.js';
export { openRemoteStore, isRemoteStoreUri, defaultSocketPath, type RemoteEnv } from './open-remote.js';
export { MemoryStore } from './testing/memory-store.js';
export { serveLegacy, SERVE_PROTOCOL_VERSION, type ServeStreams, type ServeLegacyOptions, type BuildOverrides } from './serve/index.js';
export { warmUpDaemon, type WarmUpOptions } from './warm-up.js';

/** Public surface of `store`. */
export * from './errors.js';
export * from './store.js';
export * from './nar-fs.js';
export { LocalStore, type LocalStoreOptions, type AddPathOptions } from './local/local-store.js';
export { MemoryStore } from './memory-store.js';
export { addPermRoot, addIndirectRoot, findRootsMap, formatRoots, type RootMap } from './gc/roots.js';
export { collectGarbage, type GCLog } from './gc/collect.js';
export { verifyStore, checkContents, type VerifyLog } from './local/verify.js';
export { PathLocks, lockFile, tryLockFile, type FileLock } from './locks.js';
export { drvOutputPaths } from './local/path-info.js';
export { exportPaths, importPaths } from './local/export.js';
export { makeValidityRegistration, decodeValidPathInfos, type DecodedInfo } from './local/registration.js';
export { canonicalisePathMetaData } from './local/canonicalise.js';
export { optimiseStore, removeUnusedLinks, type OptimiseStats, type OptimiseLog } from './local/optimise.js';

/** Public surface of `build`: the scheduler, the building-store wrapper and the hook seams. */
export * from './errors.js';
export type {
  SandboxOptions, SpawnRequest, BuilderProcess, Sandbox, SandboxProvider,
  RecursiveBuildContext, RecursiveServer, RecursiveHook,
} from './hooks.js';
export { loadSandboxProvider } from './hooks.js';
export { Worker, exitStatusOf, parseMaxJobs, isSuccess, type WorkerOptions, type FailureFlags } from './worker.js';
export { withBuildOps, buildOpsOf, BuildOps, type BuildingStoreOptions } from './building-store.js';
export { queryMissing } from './missing.js';
export { readBuildLog, writeBuildLog } from './build-log.js';
export { deleteStorePathFs } from './fs-util.js';
export { prestartSpawnHelper } from './builder/spawn-helper.js';
export { shellEscape } from './builder/structured-attrs.js';
export { readDerivation, parseDrvText, type BuildDrv, type DrvOutput } from './derivation.js';
export { isLocalBuildStore, type LocalBuildStore } from './output-registration.js';
export * from './recursive/index.js';

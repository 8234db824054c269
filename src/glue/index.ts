/** Public surface of `glue`. */
export * from './open-store.js';
export * from './instantiate.js';
export * from './eval-args.js';
export { renderError } from './eval-job.js';
export { GlueIO, type StoreBridge } from './store-io.js';
export { findAlongAttrPath, autoCallFunction, getDerivations, parseAttrPath, drvPathOf, outputNameOf, type DrvInfo } from './attr-path.js';
export type { RecursiveHookOptions } from './recursive/index.js';
export { warmUpEvaluator } from './warm-up-eval.js';

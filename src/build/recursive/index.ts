/** Recursive Nix inside `build/`: the restricted store, allowed set and policy (issue 8). */
export * from './errors.js';
export * from './messages.js';
export * from './allowed-set.js';
export * from './call-log.js';
export * from './gating.js';
export * from './policy.js';
export * from './registry.js';
export * from './restricted-store.js';
export * from './session.js';
export * from './drv-info.js';

/** Recursive Nix in `glue/`: the per-build socket serving the RestrictedStore (issue 8). */
export * from './socket-server.js';
export * from './hook.js';

/**
 * The sandbox seam is declared once, by the builder (`build/hooks.ts`); the
 * sandbox module implements exactly those types.
 */
export type { SandboxOptions, SpawnRequest, BuilderProcess, Sandbox, SandboxProvider } from '../hooks.js';

export * from './roots.js';
export * from './prng.js';

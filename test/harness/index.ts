export * from './roots.js';
export * from './prng.js';
export * from './compare.js';

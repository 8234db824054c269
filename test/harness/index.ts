export * from './roots.js';

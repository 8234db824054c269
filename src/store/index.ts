/** Public surface of `store`. */
export * from './errors.js';
export * from './store.js';
export * from './nar-fs.js';

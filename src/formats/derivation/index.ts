/** Derivations: the record, ATerm parse/print, modulo hashing, output paths, JSON. */
export * from './types.js';
export * from './aterm-parse.js';
export * from './aterm-write.js';
export * from './hash-modulo.js';
export * from './output-paths.js';
export * from './json.js';

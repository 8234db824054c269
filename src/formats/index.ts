/** Public surface of `formats`: pure (bytes) → value and value → bytes code. */
export * from './errors.js';
export * from './nixbase32.js';
export * from './hash.js';
export * from './store-path.js';
export * from './wire/primitives.js';
export * from './nar/node.js';
export * from './nar/write.js';
export * from './derivation/index.js';
export * from './references.js';
export * from './nar/reader.js';
export * from './nar/read.js';
export * from './nar/listing.js';
export * from './content-address.js';
export * from './narinfo.js';
export * from './signature.js';
export * from './rewrite.js';

export * from './errors.js';
export * from './bytes.js';
export * from './settings.js';
export * from './log.js';
export * from './process.js';
export * from './known-settings.js';

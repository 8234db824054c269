/** The legacy SSH store server (`nix-store --serve`), for `protocol/index.ts`. */
export { serveLegacy, type ServeStreams, type ServeLegacyOptions, type BuildOverrides } from './server.js';
export { SERVE_MAGIC_1, SERVE_MAGIC_2, SERVE_PROTOCOL_VERSION, ServeCommand } from './version.js';

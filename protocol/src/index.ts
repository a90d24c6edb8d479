/**
 * @tabula/protocol: the contract every tabula component imports. Browser-safe; the Node-only
 * server kit lives at `@tabula/protocol/server` and the validators at `@tabula/protocol/validate`.
 */
export * from './keys.js'
export * from './uuid.js'
export * from './api.js'
export * from './limits.js'
export * from './frames.js'
export * from './layout/index.js'
export * from './auth-protocol.js'
export * from './daemon-request.js'
export * from './devices-protocol.js'

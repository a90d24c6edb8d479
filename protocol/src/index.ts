/**
 * @tabula/protocol: the contract every tabula component imports. Browser-safe; the Node-only
 * server kit is its own package, `@tabula/server-kit`, and the validators live at
 * `@tabula/protocol/validate` (servers only, so zod stays out of browser bundles).
 */
export * from './keys.js'
export * from './uuid.js'
export * from './api.js'
export * from './limits.js'
export * from './frames.js'
export * from './sync-messages.js'
export * from './layout/index.js'
export * from './auth-protocol.js'
export * from './daemon-client.js'
export * from './routes.js'
export * from './devices-protocol.js'
export * from './emitter.js'
export * from './backoff.js'

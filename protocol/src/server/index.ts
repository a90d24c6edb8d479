/** Node-only helpers every tabula server shares: files under the home, auth, origin, errors, host. */
export * from './home.js'
export * from './errors.js'
export * from './auth.js'
export * from './origin.js'
export * from './logger.js'
export * from './host.js'
export * from './signals.js'
export * from './keepalive.js'

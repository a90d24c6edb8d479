/**
 * The layout document, schema 3 (docs/sync.md). One module reads and writes it for every side: the
 * SDK, the sync server's migration, the tests. Nothing else touches the Y.Maps by name.
 * Browser-safe: yjs and fractional-indexing only.
 */
export * from './schema.js'
export * from './order.js'
export * from './read.js'
export * from './edit.js'
export * from './titles.js'
export * from './v1.js'

/**
 * The layout document, schema 2 (SPEC §7). One module reads and writes it for every side: the
 * SDK, the sync server's migration, the tests. Nothing else touches the Y.Maps by name.
 *
 * OWNER: the sync-server work (issue 4) implements this module. The SDK (issue 5) builds on the
 * API below. Browser-safe: yjs and fractional-indexing only.
 */
export * from './schema.js'

/**
 * @tabula/client-sdk for browsers (docs/sdk.md, "Browser build"): the same API as the Node entry,
 * with the browser's WebSocket and `storage: "<name>"` kept in IndexedDB (a reload keeps offline
 * edits).
 */
import type { ConnectOptions, TabulaClient } from './api.js'
import { createClient } from './client.js'
import { indexedDbStorage } from './storage/indexeddb.js'

export * from './public.js'
export { indexedDbStorage } from './storage/indexeddb.js'

/**
 * Connects a viewer to a tabula daemon and sync server. Never fails for being offline: the
 * channels keep retrying with jittered backoff, and a workspace's `ready` waits for them (or
 * for cached state, with `storage`).
 */
export async function connect(options: ConnectOptions): Promise<TabulaClient> {
  return createClient(options, { WebSocket: globalThis.WebSocket, namedStorage: indexedDbStorage })
}

/**
 * @tabula/client-sdk for Node (docs/sdk.md). Node 20 has no global WebSocket, so this entry brings
 * the `ws` package, `storage: "<dir>"` keeps offline state in files, and `discover` finds the
 * tabula running on this machine (it reads `<home>/runtime.json`). Browsers get
 * browser.ts instead (package.json "browser" condition), which has no Node-only import.
 */
import { WebSocket as NodeWebSocket } from 'ws'
import type { ConnectOptions, TabulaClient, WebSocketConstructor } from './api.js'
import { createClient } from './client.js'
import { fileStorage } from './storage/file.js'

export * from './public.js'
export { fileStorage } from './storage/file.js'
export { discover, DiscoverError, type Discovered, type DiscoverOptions, type DiscoverProblem } from './discover.js'

/**
 * Connects a viewer to a tabula daemon and sync server. Never fails for being offline: the
 * channels keep retrying with jittered backoff, and a workspace's `ready` waits for them (or
 * for cached state, with `storage`).
 */
export async function connect(options: ConnectOptions): Promise<TabulaClient> {
  return createClient(options, {
    WebSocket: (globalThis.WebSocket as WebSocketConstructor | undefined) ?? (NodeWebSocket as unknown as WebSocketConstructor),
    namedStorage: fileStorage,
  })
}

/** The live channel client (docs/protocol.md): session events and shared terminals over one socket. */
export { createLiveClient, liveUrl, CLIENT_KEEPALIVE_MS } from './client.js'
export type * from './types.js'

/**
 * The numbers of the y-websocket wire format and the sync server's close codes, for both ends:
 * the server, which decodes and validates every message itself (sync-server/src/messages.ts), and
 * the SDK's sync socket (client-sdk/src/sync-channel.ts). docs/sync.md.
 */

/** A message's type: its first varUint. */
export const MESSAGE_SYNC = 0
export const MESSAGE_AWARENESS = 1
/** y-protocols' auth message; its one kind today is "permission denied", with a reason. */
export const MESSAGE_AUTH = 2
export const MESSAGE_QUERY_AWARENESS = 3

/** A sync message's kind: its second varUint. */
export const SYNC_STEP1 = 0
export const SYNC_STEP2 = 1
export const SYNC_UPDATE = 2

/** The server closes with this when an update would take the document past its size bound ("message too big"). */
export const CLOSE_TOO_BIG = 1009
/** The server closes with this when it cannot serve the connection now ("try again later"). */
export const CLOSE_TRY_AGAIN = 1013

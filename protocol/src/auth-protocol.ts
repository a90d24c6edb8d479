/**
 * How a token travels (docs/protocol.md §1, docs/daemon.md "Security"). Browsers cannot set headers
 * on a WebSocket, so the token rides as a second offered subprotocol beside `tabula.v1`; the server
 * selects `tabula.v1` and never echoes the token back.
 */
export const WS_SUBPROTOCOL = 'tabula.v1'
export const BEARER_PROTOCOL_PREFIX = 'bearer.'

/** The subprotocol list a client offers: `['tabula.v1', 'bearer.<token>']`. */
export function wsProtocols(token: string): string[] {
  return [WS_SUBPROTOCOL, BEARER_PROTOCOL_PREFIX + token]
}

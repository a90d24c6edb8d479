import type { IncomingMessage } from 'node:http'
import { timingSafeEqual, createHash } from 'node:crypto'
import { BEARER_PROTOCOL_PREFIX, WS_SUBPROTOCOL } from '../auth-protocol.js'
import { HttpError } from './errors.js'

/** The token a request carries: `Authorization: Bearer`, else a `bearer.<token>` subprotocol. */
export function presentedToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    return match ? match[1]! : ''
  }
  for (const protocol of offeredProtocols(req)) {
    if (protocol.startsWith(BEARER_PROTOCOL_PREFIX)) return protocol.slice(BEARER_PROTOCOL_PREFIX.length)
  }
  return null
}

export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol']
  if (!header) return []
  return header.split(',').map((p) => p.trim()).filter(Boolean)
}

/** Throws 401 without a token and 403 with a wrong one (SPEC §4). */
export function checkToken(req: IncomingMessage, token: string): void {
  const given = presentedToken(req)
  if (given === null || given === '') {
    throw new HttpError(401, 'unauthorized', 'a token is required: send "Authorization: Bearer <token>" (the token is in <home>/token)')
  }
  if (!sameSecret(given, token)) throw new HttpError(403, 'forbidden', 'the token is not valid for this server')
}

// Hashing first gives equal lengths, so the comparison time says nothing about the token.
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(a), digest(b))
}

/**
 * Every WebSocket on the host speaks `tabula.v1`. A client that offers subprotocols but not that
 * one would otherwise be upgraded with none selected (or be cut by its own library): refuse it
 * before the upgrade with a reason instead. Offering none at all is fine (a non-browser client
 * with an Authorization header needs no list).
 */
export function checkSubprotocols(req: IncomingMessage): void {
  const offered = offeredProtocols(req)
  if (req.headers['sec-websocket-protocol'] !== undefined && !offered.includes(WS_SUBPROTOCOL)) {
    throw new HttpError(400, 'bad_request', `the WebSocket must offer the subprotocol "${WS_SUBPROTOCOL}" (offered: none that tabula speaks)`)
  }
}

/**
 * For `ws`'s `handleProtocols`: always answer `tabula.v1` when offered, never the bearer entry,
 * so the token is not echoed in the response headers.
 */
export function selectSubprotocol(protocols: Set<string>): string | false {
  return protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false
}

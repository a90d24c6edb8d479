import type { IncomingMessage } from 'node:http'
import { timingSafeEqual, createHash } from 'node:crypto'
import { BEARER_PROTOCOL_PREFIX, WS_SUBPROTOCOL } from '@tabula/protocol'
import type { Principal } from '@tabula/protocol'
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
  return header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
}

/** What checks device tokens (a DeviceStore); absent, only the root token is accepted. */
export interface DeviceVerifier {
  verify(token: string): Principal | null
}

const ROOT: Principal = { kind: 'root', scope: 'full' }

/**
 * Who the request is: the root token, or a paired device's own token (docs/daemon.md, "Devices").
 * Throws 401 without a token and 403 with one nobody issued (or one whose device was revoked).
 */
export function authenticate(req: IncomingMessage, rootToken: string, devices?: DeviceVerifier): Principal {
  const given = presentedToken(req)
  if (given === null || given === '') {
    throw new HttpError(
      401,
      'unauthorized',
      'a token is required: open the link `tabula up` or `tabula pair` prints, or send "Authorization: Bearer <token>" (the root token is in <home>/token)',
    )
  }
  if (sameSecret(given, rootToken)) return ROOT
  const device = devices?.verify(given)
  if (device) return device
  throw new HttpError(403, 'forbidden', 'the token is not valid for this server (a revoked device, another home, or a replaced token file)')
}

const principals = new WeakMap<IncomingMessage, Principal>()

/** Records who a request is (the host does, after authenticate). */
export function setPrincipal(req: IncomingMessage, principal: Principal): void {
  principals.set(req, principal)
}

/**
 * Who a request is, as the host found. A request the host did not authenticate (a public route)
 * has no principal: undefined, so a component never mistakes it for the owner.
 */
export function principalOf(req: IncomingMessage): Principal | undefined {
  return principals.get(req)
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
    throw new HttpError(
      400,
      'bad_request',
      `the WebSocket must offer the subprotocol "${WS_SUBPROTOCOL}" (offered: none that tabula speaks)`,
    )
  }
}

/**
 * For `ws`'s `handleProtocols`: always answer `tabula.v1` when offered, never the bearer entry,
 * so the token is not echoed in the response headers.
 */
export function selectSubprotocol(protocols: Set<string>): string | false {
  return protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false
}

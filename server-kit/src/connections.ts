/**
 * Bounds on the HTTP connections of one server (MAX_HTTP_CONNECTIONS, docs/daemon.md "Bounds").
 * 1,100 unauthenticated half-open connections once took every file descriptor under a 1024
 * limit and locked the token holder out for 85 s. Connections are counted from accept; one
 * that has not yet delivered a complete request (headers, or an upgrade) is "pending", and when
 * the count is at the cap the oldest pending one is closed to make room for the new one. Node's
 * own timeouts end the rest: headers within HTTP_HEADERS_TIMEOUT_MS, the whole request within
 * HTTP_REQUEST_TIMEOUT_MS.
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, Server, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import { HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, MAX_HTTP_CONNECTIONS } from '@tabula/protocol'
import type { Logger } from './logger.js'
import { HttpError, writeRawError } from './errors.js'

/** The two bounds on a request's arrival; tests pass smaller ones. */
export interface RequestTimeouts {
  headersMs: number
  requestMs: number
}

export const REQUEST_TIMEOUTS: RequestTimeouts = { headersMs: HTTP_HEADERS_TIMEOUT_MS, requestMs: HTTP_REQUEST_TIMEOUT_MS }

/**
 * Options for createServer: the timeouts, checked every second rather than every 30 s (or more
 * often, for bounds under a few seconds, so that they hold within a quarter of themselves).
 */
export function serverTimeouts(t: RequestTimeouts = REQUEST_TIMEOUTS): ServerOptions {
  return {
    headersTimeout: t.headersMs,
    requestTimeout: t.requestMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(t.headersMs / 4))),
  }
}

/** The soft limit on open files (Linux /proc), or null where it cannot be read. */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s{2,}/)[1])
    return Number.isFinite(soft) ? soft : null
  } catch {
    return null
  }
}

export function connectionCap(): number {
  const fds = openFileLimit()
  return fds === null ? MAX_HTTP_CONNECTIONS : Math.max(8, Math.min(MAX_HTTP_CONNECTIONS, Math.floor(fds / 4)))
}

export function limitConnections(server: Server, log: Logger, cap = connectionCap()): void {
  const open = new Set<Socket>()
  /** Connections without a complete request yet, oldest first. */
  const pending = new Set<Socket>()
  let warned = false
  // Under TLS, requests arrive on a TLSSocket wrapping the TCP socket that was counted.
  const served = (req: IncomingMessage) => {
    pending.delete(req.socket)
    const parent = (req.socket as Socket & { _parent?: Socket })._parent
    if (parent) pending.delete(parent)
  }
  server.on('request', served)
  server.on('upgrade', served)
  server.on('connection', (socket: Socket) => {
    if (open.size >= cap) {
      const oldest = pending.values().next().value as Socket | undefined
      if (oldest) {
        pending.delete(oldest)
        open.delete(oldest)
        oldest.destroy()
      } else {
        refuse(socket, cap)
        if (!warned) log.warn(`${cap} HTTP connections are open, the most this server takes; refusing new ones with 503`)
        warned = true
        return
      }
    }
    open.add(socket)
    pending.add(socket)
    socket.once('close', () => {
      open.delete(socket)
      pending.delete(socket)
    })
  })
}

function refuse(socket: Socket, cap: number): void {
  writeRawError(
    socket,
    new HttpError(503, 'unavailable', `the server already holds ${cap} connections, the most it takes; retry shortly`),
    { 'Retry-After': '1' },
  )
}

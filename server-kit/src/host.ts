import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import type { AddressInfo } from 'node:net'
import type { Principal } from '@tabula/protocol'
import { authenticate, checkSubprotocols, setPrincipal } from './auth.js'
import type { DeviceStore } from './devices.js'
import { checkOrigin, listenUrls, localUrl, normalizeOrigin, ownOrigins } from './origin.js'
import { HttpError, rejectUpgrade, sendError, writeRawError } from './errors.js'
import type { Logger } from './logger.js'
import { limitConnections, REQUEST_TIMEOUTS, serverTimeouts, type RequestTimeouts } from './connections.js'

/**
 * A piece of tabula that can be mounted on the shared HTTP server: the daemon, the sync server,
 * the web viewer. The host checks Origin and token before a component sees a request, so every
 * component is protected the same way whether it runs alone or beside the others.
 */
export interface Component {
  readonly name: string
  /** Paths served without a token (the health route, the web viewer's static files). */
  isPublic?(req: IncomingMessage, url: URL): boolean
  /** Returns false when the request is not this component's. */
  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>
  /** Returns false when the upgrade is not this component's. Called after auth passed. */
  handleUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean
  /** Told the listening address once it is known (to build URLs, allowlists). */
  listening?(address: { host: string; port: number; url: string }): void
  /** Flushes and releases everything; called once on shutdown. */
  close(): Promise<void>
}

/**
 * What a preflight from an allowed origin may go on to send: the token travels in Authorization
 * and bodies are JSON, so those two headers (neither is CORS-safelisted) and the methods the
 * components serve. A browser caches the answer for CORS_MAX_AGE_SECONDS.
 */
export const CORS_ALLOW_HEADERS = 'authorization, content-type'
export const CORS_ALLOW_METHODS = 'GET, POST, PUT, DELETE, OPTIONS'
export const CORS_MAX_AGE_SECONDS = 600

export interface HostOptions {
  host: string
  port: number
  token: string
  components: Component[]
  /** Extra origins allowed besides the server's own (`--allow-origin`, docs/daemon.md "Security"). */
  allowOrigins?: string[]
  /**
   * Names this machine is also reached by (`--public-host`: a DNS or tailnet name, a name a
   * reverse proxy forwards): their origins count as the server's own and are printed.
   */
  publicHosts?: string[]
  /** PEM certificate chain and key (`--tls-cert`, `--tls-key`): https and wss on the same port. */
  tls?: { cert: Buffer | string; key: Buffer | string }
  /** Paired devices' tokens (docs/daemon.md, "Devices"); without it only the root token is accepted. */
  devices?: DeviceStore
  /** HTTP_HEADERS_TIMEOUT_MS and HTTP_REQUEST_TIMEOUT_MS unless given (tests). */
  timeouts?: RequestTimeouts
  /** Connections held at once; connectionCap() unless given (benchmarks that hold thousands). */
  maxConnections?: number
  log: Logger
}

export interface Host {
  readonly server: Server
  /** Where local tools reach the server (loopback when it listens there, else the one address). */
  readonly url: string
  /** Every address a person can open, one per name or interface address (never 0.0.0.0). */
  readonly urls: string[]
  readonly port: number
  close(): Promise<void>
}

export async function startHost(opts: HostOptions): Promise<Host> {
  const allowed = new Set<string>((opts.allowOrigins ?? []).map(normalizeOrigin))
  const timeouts = serverTimeouts(opts.timeouts)
  const server: Server = opts.tls ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, ...timeouts }) : createServer(timeouts)
  limitConnections(server, opts.log, opts.maxConnections)
  const scheme = opts.tls ? 'https' : 'http'
  const devices = opts.devices
  // Every socket a device opened (HTTP keep-alive or WebSocket), so revoking it closes them at once.
  const deviceSockets = new Map<string, Set<Duplex>>()
  const stopRevocations = devices?.onRevoked((names) => {
    for (const name of names) {
      for (const socket of deviceSockets.get(name) ?? []) socket.destroy()
      deviceSockets.delete(name)
    }
  })

  /** Authenticates, and remembers the socket of a device so that a revocation can cut it. */
  function admit(req: IncomingMessage, socket: Duplex): Principal {
    const principal = authenticate(req, opts.token, devices)
    setPrincipal(req, principal)
    if (principal.kind === 'device') {
      let set = deviceSockets.get(principal.name)
      if (!set) deviceSockets.set(principal.name, (set = new Set()))
      if (!set.has(socket)) {
        set.add(socket)
        socket.once('close', () => set.delete(socket))
      }
    }
    return principal
  }
  server.on('request', (req, res) => void route(req, res))
  server.on('upgrade', (req, socket, head) => upgrade(req, socket, head))
  server.on('clientError', (err, socket) => refuseMalformed(socket, err, opts.timeouts))

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = requestUrl(req)
      checkOrigin(req, allowed)
      const origin = req.headers.origin
      if (origin !== undefined) {
        // An allowed page on another origin (--allow-origin) may read the answer, errors included.
        // Vary, because the same URL answers differently per Origin (caches must not mix them).
        res.setHeader('access-control-allow-origin', origin)
        res.setHeader('vary', 'Origin')
        // A preflight carries no credentials by design, so it is answered before the token check;
        // it reveals nothing, and the real request that follows is checked as any other.
        if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
          res.writeHead(204, {
            'access-control-allow-headers': CORS_ALLOW_HEADERS,
            'access-control-allow-methods': CORS_ALLOW_METHODS,
            'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
          })
          res.end()
          return
        }
      }
      const component = opts.components.find((c) => c.isPublic?.(req, url))
      if (!component) {
        const principal = admit(req, req.socket)
        // A watch-only device reads; every route that changes something is a POST, PUT or DELETE.
        if (principal.scope !== 'full' && req.method !== 'GET' && req.method !== 'HEAD') {
          throw new HttpError(
            403,
            'forbidden',
            `device "${principal.kind === 'device' ? principal.name : ''}" can only watch: ${req.method} ${url.pathname} is refused`,
          )
        }
      }
      for (const c of component ? [component] : opts.components) {
        if (await c.handleRequest(req, res, url)) return
      }
      throw new HttpError(404, 'not_found', `no route for ${req.method} ${url.pathname}`)
    } catch (err) {
      if (err instanceof HttpError) return sendError(res, err)
      opts.log.error({ err }, 'request failed')
      sendError(res, new HttpError(500, 'internal', 'internal error; see the server log'))
    }
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    try {
      const url = requestUrl(req)
      checkOrigin(req, allowed)
      admit(req, socket)
      checkSubprotocols(req)
      for (const c of opts.components) if (c.handleUpgrade?.(req, socket, head, url)) return
      throw new HttpError(404, 'not_found', `no WebSocket endpoint at ${url.pathname}`)
    } catch (err) {
      if (!(err instanceof HttpError)) opts.log.error({ err }, 'upgrade failed')
      rejectUpgrade(socket, err instanceof HttpError ? err : new HttpError(500, 'internal', 'internal error'))
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const at = { host: opts.host, port, scheme, publicHosts: opts.publicHosts } as const
  const urls = listenUrls(at)
  for (const origin of ownOrigins(at)) allowed.add(origin)
  const url = localUrl(opts.host, port, scheme)
  for (const c of opts.components) c.listening?.({ host: opts.host, port, url })

  let closing: Promise<void> | null = null
  return {
    server,
    url,
    urls,
    port,
    close: () =>
      (closing ??= (async () => {
        stopRevocations?.()
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await Promise.allSettled(opts.components.map((c) => c.close()))
        server.closeAllConnections()
        await stopped
      })()),
  }
}

/**
 * A request node's parser could not read (bad request line, oversized headers), or one that did
 * not arrive within the timeouts (see serverTimeouts): answer it as every other refusal is
 * answered, with a 400 or 408 and a JSON reason, so a client sees why instead of a reset. The
 * socket may already be gone (a reset) or mid-response; then there is no one to tell.
 */
function refuseMalformed(socket: Duplex, err: Error & { code?: string }, t: RequestTimeouts = REQUEST_TIMEOUTS): void {
  // As node's own default handler: write only while no response has started on this socket.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (inFlight?.headersSent) {
    socket.destroy()
    return
  }
  writeRawError(
    socket,
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new HttpError(
          408,
          'request_timeout',
          `request too slow: headers must arrive within ${t.headersMs / 1000} s and the whole request within ${t.requestMs / 1000} s`,
        )
      : new HttpError(400, 'bad_request', 'malformed HTTP request'),
  )
}

function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost')
  } catch {
    throw new HttpError(400, 'bad_request', 'malformed request URL')
  }
}

export { isLoopbackName as isLoopbackHost } from './origin.js'

import type { IncomingMessage } from 'node:http'
import { HttpError } from './errors.js'

/**
 * The origins a browser page may call from: the server's own (under every loopback name when it
 * listens on loopback) plus any given with `--allow-origin`. Comparing with a fixed list rather
 * than with the Host header keeps a DNS-rebinding page out.
 */
export function ownOrigins(host: string, port: number): string[] {
  const loopback = ['127.0.0.1', 'localhost', '[::1]']
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  const names = loopback.includes(bracketed) || host === '::1' ? loopback : [bracketed]
  return names.map((name) => `http://${name}:${port}`)
}

export function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin
  } catch {
    return origin
  }
}

/** Throws 403 when the request carries an Origin that is not allowed (SPEC §4). */
export function checkOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  const origin = req.headers.origin
  if (origin === undefined) return // not a browser: the token alone decides
  if (!allowed.has(normalizeOrigin(origin))) {
    throw new HttpError(403, 'forbidden_origin', `origin ${origin} is not allowed (add it with --allow-origin)`)
  }
}

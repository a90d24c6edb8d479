import type { IncomingMessage } from 'node:http'
import { networkInterfaces } from 'node:os'
import { HttpError } from './errors.js'

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]']
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', ''])

export interface ListenAddress {
  host: string
  port: number
  scheme: 'http' | 'https'
  /** Names this machine is also reached by (`--public-host`). */
  publicHosts?: string[]
}

/** `[v6]` for an IPv6 literal, as URLs write it. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

export function isLoopbackName(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host)
}

/**
 * The machine's own addresses a listener on `host` answers at. On a wildcard (`0.0.0.0`, `::`)
 * that is every interface address, read from the system: never `0.0.0.0` itself, which no
 * phone can open. IPv6 link-local addresses are left out (a URL cannot carry their zone).
 */
function interfaceHosts(host: string, interfaces = networkInterfaces()): string[] {
  if (!WILDCARDS.has(host)) return [host]
  const ipv4Only = host === '0.0.0.0'
  const hosts: string[] = []
  for (const list of Object.values(interfaces)) {
    for (const address of list ?? []) {
      if (address.internal) continue
      if (address.family === 'IPv6' && (ipv4Only || /^fe80:/i.test(address.address))) continue
      hosts.push(address.address)
    }
  }
  return [...hosts, '127.0.0.1']
}

/**
 * Every address a person can open, one URL each: the `--public-host` names first, then the
 * interface addresses, then loopback (for this machine). What `tabula up` prints.
 */
export function listenUrls(at: ListenAddress, interfaces?: ReturnType<typeof networkInterfaces>): string[] {
  const hosts = [...(at.publicHosts ?? []), ...interfaceHosts(at.host, interfaces)]
  return [...new Set(hosts.map((h) => `${at.scheme}://${urlHost(h)}:${at.port}`))]
}

/** Where tools on this machine reach the server: loopback when it listens there, else its address. */
export function localUrl(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  const local =
    WILDCARDS.has(host) || isLoopbackName(host) ? (host.includes(':') && host !== '::' && host !== '[::]' ? '[::1]' : '127.0.0.1') : host
  return `${scheme}://${urlHost(local)}:${port}`
}

/**
 * The origins a browser page may call from: the server's own, on every address it listens on
 * (every loopback name when loopback is among them) and every `--public-host` name, plus any
 * given with `--allow-origin`. Comparing with a fixed list rather than with the Host header
 * keeps a DNS-rebinding page out.
 */
export function ownOrigins(at: ListenAddress, interfaces?: ReturnType<typeof networkInterfaces>): string[] {
  const urls = listenUrls(at, interfaces)
  const loopback = urls.some((u) => isLoopbackName(new URL(u).hostname)) || isLoopbackName(at.host)
  const extra = loopback ? LOOPBACK_NAMES.map((name) => `${at.scheme}://${name}:${at.port}`) : []
  return [...new Set([...urls, ...extra, localUrl(at.host, at.port, at.scheme)])]
}

export function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin
  } catch {
    return origin
  }
}

/** Throws 403 when the request carries an Origin that is not allowed (docs/daemon.md, "Security"). */
export function checkOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  const origin = req.headers.origin
  if (origin === undefined) return // not a browser: the token alone decides
  if (!allowed.has(normalizeOrigin(origin))) {
    throw new HttpError(403, 'forbidden_origin', `origin ${origin} is not allowed (add it with --allow-origin)`)
  }
}

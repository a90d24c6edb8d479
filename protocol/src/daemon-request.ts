/**
 * One request to the daemon's HTTP API (docs/daemon.md, "HTTP API"), as every client of it makes
 * it: the SDK and the CLI. Any fetch will do (browsers, Node 20).
 */
import type { ErrorBody } from './api.js'

/** An HTTP answer that was not a success, with the daemon's error code when it sent one. */
export class DaemonError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The daemon's own words (or the status), without the request in front of them. */
    readonly detail: string = message,
  ) {
    super(message)
    this.name = 'DaemonError'
  }
}

/**
 * Sends `body` (as JSON) with the bearer token; resolves to the response when it is a success,
 * rejects with a DaemonError when it is not, and with fetch's own error when nothing answered.
 */
export async function daemonRequest(
  fetchImpl: typeof globalThis.fetch,
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetchImpl(base + path, { method, headers, body: body === undefined ? null : JSON.stringify(body) })
  if (res.ok) return res
  let code = 'http_' + res.status
  let detail = `HTTP ${res.status}`
  try {
    const error = ((await res.json()) as ErrorBody).error
    if (error) {
      code = error.code
      detail = error.message
    }
  } catch {
    // Not a JSON error body; the status says enough.
  }
  throw new DaemonError(res.status, code, `${method} ${path}: ${detail}`, detail)
}

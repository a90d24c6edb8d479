/**
 * A few fixed routes need no framework: a pattern like `/v1/workspaces/:ws` matched segment by
 * segment, and 405 when the path is known but the method is not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError } from '@tabula/server-kit'

export type Params = Record<string, string>
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params) => Promise<void> | void

export interface Route {
  method: string
  pattern: string
  handler: Handler
}

/** Returns false when no route's pattern matches the path (so another component may serve it). */
export async function dispatch(routes: readonly Route[], req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  let pathMatched = false
  for (const route of routes) {
    const params = match(route.pattern, url.pathname)
    if (!params) continue
    pathMatched = true
    if (route.method !== req.method) continue
    await route.handler(req, res, params)
    return true
  }
  if (!pathMatched) return false
  const allowed = routes.filter((r) => match(r.pattern, url.pathname)).map((r) => r.method)
  res.setHeader('allow', allowed.join(', '))
  throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname} (allowed: ${allowed.join(', ')})`)
}

function match(pattern: string, pathname: string): Params | null {
  const want = pattern.split('/')
  const got = pathname.split('/')
  if (want.length !== got.length) return null
  const params: Params = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const g = got[i]!
    if (w.startsWith(':')) {
      if (!g) return null
      params[w.slice(1)] = decodeSegment(g)
    } else if (w !== g) {
      return null
    }
  }
  return params
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, 'bad_request', `malformed path segment "${segment}"`)
  }
}

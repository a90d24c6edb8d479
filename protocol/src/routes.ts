/**
 * Every address tabula's servers answer at, in one table: the daemon's HTTP API (docs/daemon.md,
 * "HTTP API"), the device routes every serving process mounts, and the two WebSocket paths. The
 * daemon serves its routes from this table and every client builds its requests from it
 * (daemon-client.ts), so a path is written once.
 */

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE'
  /** `/v1/workspaces/:ws`: a `:name` segment is a parameter (one whole path segment). */
  readonly pattern: string
}

export const ROUTES = {
  /** `200 {ok, version}`, served without a token. */
  health: { method: 'GET', pattern: '/v1/health' },
  listWorkspaces: { method: 'GET', pattern: '/v1/workspaces' },
  ensureWorkspace: { method: 'POST', pattern: '/v1/workspaces' },
  getWorkspace: { method: 'GET', pattern: '/v1/workspaces/:ws' },
  removeWorkspace: { method: 'DELETE', pattern: '/v1/workspaces/:ws' },
  listSessions: { method: 'GET', pattern: '/v1/workspaces/:ws/sessions' },
  spawnSession: { method: 'POST', pattern: '/v1/workspaces/:ws/sessions' },
  getSession: { method: 'GET', pattern: '/v1/workspaces/:ws/sessions/:key' },
  closeSession: { method: 'DELETE', pattern: '/v1/workspaces/:ws/sessions/:key' },
  /** A one-time pairing code becomes a device token; served without a token (docs/daemon.md, "Devices"). */
  pair: { method: 'POST', pattern: '/v1/pair' },
  /** The caller's principal. */
  whoami: { method: 'GET', pattern: '/v1/whoami' },
} as const satisfies Record<string, RouteSpec>

/** The daemon's live channel (docs/protocol.md). */
export const LIVE_PATH = '/v1/live'

/** The sync server's WebSocket prefix; the room (the workspace id) follows: `/sync/<id>` (docs/sync.md). */
export const SYNC_PATH = '/sync'

/** The parameter names of a pattern: `'/v1/workspaces/:ws/sessions/:key'` gives `'ws' | 'key'`. */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never

export type RouteParams<P extends string> = { readonly [K in ParamNames<P>]: string }

/** The path of a route with its parameters filled in, each encoded as one path segment. */
export function routePath<P extends string>(pattern: P, params: RouteParams<P>): string {
  return pattern.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent((params as Record<string, string>)[name]!))
}

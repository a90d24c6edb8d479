/**
 * Every address tabula's servers answer at: the daemon's HTTP API (docs/daemon.md, "HTTP API"),
 * the device routes every serving process mounts, and the two WebSocket paths. The daemon serves
 * its routes from here and every client builds its requests from here (daemon-client.ts), so a
 * path is written once. Each route is its own constant, so a bundle carries only the routes its
 * code calls; ROUTES lists them all, for the daemon and for tests that walk every route.
 */

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE'
  /** `/v1/workspaces/:ws`: a `:name` segment is a parameter (one whole path segment). */
  readonly pattern: string
}

/** `200 {ok, version}`, served without a token. */
export const HEALTH_ROUTE = { method: 'GET', pattern: '/v1/health' } as const
export const LIST_WORKSPACES_ROUTE = { method: 'GET', pattern: '/v1/workspaces' } as const
/** Find-or-create by path. */
export const ENSURE_WORKSPACE_ROUTE = { method: 'POST', pattern: '/v1/workspaces' } as const
export const GET_WORKSPACE_ROUTE = { method: 'GET', pattern: '/v1/workspaces/:ws' } as const
export const REMOVE_WORKSPACE_ROUTE = { method: 'DELETE', pattern: '/v1/workspaces/:ws' } as const
export const LIST_SESSIONS_ROUTE = { method: 'GET', pattern: '/v1/workspaces/:ws/sessions' } as const
/** Find-or-spawn by key. */
export const SPAWN_SESSION_ROUTE = { method: 'POST', pattern: '/v1/workspaces/:ws/sessions' } as const
export const GET_SESSION_ROUTE = { method: 'GET', pattern: '/v1/workspaces/:ws/sessions/:key' } as const
export const CLOSE_SESSION_ROUTE = { method: 'DELETE', pattern: '/v1/workspaces/:ws/sessions/:key' } as const
/** `POST /v1/pair {code}`, served without a token: a one-time pairing code becomes a device token (docs/daemon.md, "Devices"). */
export const PAIR_PATH = '/v1/pair'
export const PAIR_ROUTE = { method: 'POST', pattern: PAIR_PATH } as const
/** `GET /v1/whoami`: the caller's principal (the page says "watch only" from it). */
export const WHOAMI_PATH = '/v1/whoami'
export const WHOAMI_ROUTE = { method: 'GET', pattern: WHOAMI_PATH } as const

/** Every HTTP route, by name. */
export const ROUTES = {
  health: HEALTH_ROUTE,
  listWorkspaces: LIST_WORKSPACES_ROUTE,
  ensureWorkspace: ENSURE_WORKSPACE_ROUTE,
  getWorkspace: GET_WORKSPACE_ROUTE,
  removeWorkspace: REMOVE_WORKSPACE_ROUTE,
  listSessions: LIST_SESSIONS_ROUTE,
  spawnSession: SPAWN_SESSION_ROUTE,
  getSession: GET_SESSION_ROUTE,
  closeSession: CLOSE_SESSION_ROUTE,
  pair: PAIR_ROUTE,
  whoami: WHOAMI_ROUTE,
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

/**
 * The one typed client of the daemon's HTTP API (docs/daemon.md, "HTTP API"): the workspace and
 * session routes of the table in routes.ts, with the shapes of api.ts. The SDK, the CLI, the VS
 * Code extension and the tests call the daemon through it. Browser-safe: any fetch will do
 * (browsers, Node 20). Health is public and the device routes belong to the page that pairs, so
 * they are not here: a method nobody calls would still be in every bundle.
 *
 * Every method rejects with a DaemonError when the daemon answers with an error, and with
 * fetch's own error (a TypeError) when nothing answers; callers phrase those for their users.
 */
import type { ClosedSession, CreateWorkspaceRequest, RemovedWorkspace, Session, SessionList, SpawnRequest, Workspace } from './api.js'
import type { ErrorBody } from './api.js'
import {
  CLOSE_SESSION_ROUTE,
  ENSURE_WORKSPACE_ROUTE,
  GET_WORKSPACE_ROUTE,
  LIST_SESSIONS_ROUTE,
  LIST_WORKSPACES_ROUTE,
  REMOVE_WORKSPACE_ROUTE,
  SPAWN_SESSION_ROUTE,
  routePath,
  type RouteParams,
  type RouteSpec,
} from './routes.js'

export interface DaemonClientOptions {
  /** The daemon's address (`http(s)://host:port`); a trailing slash is ignored. */
  url: string
  token: string
  /** Default: the global fetch. */
  fetch?: typeof globalThis.fetch
}

export class DaemonClient {
  readonly url: string
  readonly #token: string
  readonly #fetch: typeof globalThis.fetch

  constructor(options: DaemonClientOptions) {
    this.url = options.url.replace(/\/+$/, '')
    this.#token = options.token
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
  }

  async workspaces(): Promise<Workspace[]> {
    return json(await this.#call(LIST_WORKSPACES_ROUTE, {}))
  }

  async workspace(id: string): Promise<Workspace> {
    return json(await this.#call(GET_WORKSPACE_ROUTE, { ws: id }))
  }

  /** Find-or-create by path (`id` adopts a known uuid). */
  async ensureWorkspace(request: CreateWorkspaceRequest): Promise<Workspace> {
    return json(await this.#call(ENSURE_WORKSPACE_ROUTE, {}, request))
  }

  /** Refused (409) while the workspace has sessions. */
  async removeWorkspace(id: string): Promise<RemovedWorkspace> {
    return json(await this.#call(REMOVE_WORKSPACE_ROUTE, { ws: id }))
  }

  async sessions(workspace: string): Promise<SessionList> {
    return json(await this.#call(LIST_SESSIONS_ROUTE, { ws: workspace }))
  }

  /** Find-or-spawn by key; `created` is false when the key was already live (200, not 201). */
  async spawn(workspace: string, request: SpawnRequest): Promise<{ session: Session; created: boolean }> {
    const res = await this.#call(SPAWN_SESSION_ROUTE, { ws: workspace }, request)
    return { session: (await json<{ session: Session }>(res)).session, created: res.status === 201 }
  }

  /** Resolves once every process of the session is gone; 404 when the key is not there. */
  async close(workspace: string, key: string): Promise<ClosedSession> {
    return json(await this.#call(CLOSE_SESSION_ROUTE, { ws: workspace, key }))
  }

  /**
   * Sends `body` (as JSON) with the bearer token; resolves to the response when it is a success,
   * rejects with a DaemonError when it is not, and with fetch's own error when nothing answered.
   */
  async #call<R extends RouteSpec>(route: R, params: RouteParams<R['pattern']>, body?: unknown): Promise<Response> {
    const { method } = route
    const path = routePath(route.pattern, params)
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await this.#fetch(this.url + path, { method, headers, body: body === undefined ? null : JSON.stringify(body) })
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
}

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

function json<T>(res: Response): Promise<T> {
  return res.json() as Promise<T>
}

/**
 * The one typed client of the daemon's HTTP API (docs/daemon.md, "HTTP API"): every route of the
 * table in routes.ts, with the shapes of api.ts. The SDK, the CLI, the VS Code extension and the
 * tests call the daemon through it. Browser-safe: any fetch will do (browsers, Node 20).
 *
 * Every method rejects with a DaemonError when the daemon answers with an error, and with
 * fetch's own error (a TypeError) when nothing answers; callers phrase those for their users.
 */
import type { ClosedSession, CreateWorkspaceRequest, Health, RemovedWorkspace, Session, SessionList, SpawnRequest, Workspace } from './api.js'
import { daemonRequest } from './daemon-request.js'
import type { Principal } from './devices-protocol.js'
import { ROUTES, routePath, type RouteParams, type RouteSpec } from './routes.js'

export interface DaemonClientOptions {
  /** The daemon's address (`http(s)://host:port`); a trailing slash is ignored. */
  url: string
  token: string
  /** Default: the global fetch. */
  fetch?: typeof globalThis.fetch
}

export class DaemonClient {
  readonly url: string
  private readonly token: string
  private readonly fetchImpl: typeof globalThis.fetch

  constructor(options: DaemonClientOptions) {
    this.url = options.url.replace(/\/+$/, '')
    this.token = options.token
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
  }

  async health(): Promise<Health> {
    return json(await this.call(ROUTES.health, {}))
  }

  async whoami(): Promise<Principal> {
    return json(await this.call(ROUTES.whoami, {}))
  }

  async workspaces(): Promise<Workspace[]> {
    return json(await this.call(ROUTES.listWorkspaces, {}))
  }

  async workspace(id: string): Promise<Workspace> {
    return json(await this.call(ROUTES.getWorkspace, { ws: id }))
  }

  /** Find-or-create by path (`id` adopts a known uuid). */
  async ensureWorkspace(request: CreateWorkspaceRequest): Promise<Workspace> {
    return json(await this.call(ROUTES.ensureWorkspace, {}, request))
  }

  /** Refused (409) while the workspace has sessions. */
  async removeWorkspace(id: string): Promise<RemovedWorkspace> {
    return json(await this.call(ROUTES.removeWorkspace, { ws: id }))
  }

  async sessions(workspace: string): Promise<SessionList> {
    return json(await this.call(ROUTES.listSessions, { ws: workspace }))
  }

  async session(workspace: string, key: string): Promise<Session> {
    return (await json<{ session: Session }>(await this.call(ROUTES.getSession, { ws: workspace, key }))).session
  }

  /** Find-or-spawn by key; `created` is false when the key was already live (200, not 201). */
  async spawn(workspace: string, request: SpawnRequest): Promise<{ session: Session; created: boolean }> {
    const res = await this.call(ROUTES.spawnSession, { ws: workspace }, request)
    return { session: (await json<{ session: Session }>(res)).session, created: res.status === 201 }
  }

  /** Resolves once every process of the session is gone; 404 when the key is not there. */
  async close(workspace: string, key: string): Promise<ClosedSession> {
    return json(await this.call(ROUTES.closeSession, { ws: workspace, key }))
  }

  private call<R extends RouteSpec>(route: R, params: RouteParams<R['pattern']>, body?: unknown): Promise<Response> {
    return daemonRequest(this.fetchImpl, this.url, this.token, route.method, routePath(route.pattern, params), body)
  }
}

function json<T>(res: Response): Promise<T> {
  return res.json() as Promise<T>
}

/** The daemon's HTTP API (SPEC §5), as the SDK uses it. */
import type { CreateWorkspaceRequest, ErrorBody, Session, SessionList, SpawnRequest, Workspace } from '@tabula/protocol'

/** An HTTP answer that was not a success, with the daemon's error code when it sent one. */
export class DaemonError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'DaemonError'
  }
}

export class DaemonHttp {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly fetchImpl: typeof globalThis.fetch,
  ) {}

  /** Find-or-spawn by key; `created` is false when the key was already live. */
  async spawn(workspace: string, request: SpawnRequest): Promise<{ session: Session; created: boolean }> {
    const res = await this.request('POST', `/v1/workspaces/${encodeURIComponent(workspace)}/sessions`, request)
    const body = (await res.json()) as { session: Session }
    return { session: body.session, created: res.status === 201 }
  }

  /** Closes a session; false when the key was not there. */
  async close(workspace: string, key: string): Promise<boolean> {
    try {
      await this.request('DELETE', `/v1/workspaces/${encodeURIComponent(workspace)}/sessions/${encodeURIComponent(key)}`)
      return true
    } catch (error) {
      if (error instanceof DaemonError && error.status === 404) return false
      throw error
    }
  }

  async workspaces(): Promise<Workspace[]> {
    return (await (await this.request('GET', '/v1/workspaces')).json()) as Workspace[]
  }

  async ensureWorkspace(request: CreateWorkspaceRequest): Promise<Workspace> {
    return (await (await this.request('POST', '/v1/workspaces', request)).json()) as Workspace
  }

  async list(workspace: string): Promise<SessionList> {
    const res = await this.request('GET', `/v1/workspaces/${encodeURIComponent(workspace)}/sessions`)
    return (await res.json()) as SessionList
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await this.fetchImpl(this.base + path, { method, headers, body: body === undefined ? null : JSON.stringify(body) })
    if (res.ok) return res
    let code = 'http_' + res.status
    let message = `${method} ${path}: HTTP ${res.status}`
    try {
      const error = ((await res.json()) as ErrorBody).error
      if (error) {
        code = error.code
        message = `${method} ${path}: ${error.message}`
      }
    } catch {
      // Not a JSON error body; the status says enough.
    }
    throw new DaemonError(res.status, code, message)
  }
}

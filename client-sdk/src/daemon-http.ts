/** The daemon's HTTP API (docs/daemon.md, "HTTP API"), as the SDK uses it. */
import { DaemonError, daemonRequest, type CreateWorkspaceRequest, type Session, type SessionList, type SpawnRequest, type Workspace } from '@tabula/protocol'

export { DaemonError } from '@tabula/protocol'

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

  async removeWorkspace(id: string): Promise<void> {
    await this.request('DELETE', `/v1/workspaces/${encodeURIComponent(id)}`)
  }

  async list(workspace: string): Promise<SessionList> {
    const res = await this.request('GET', `/v1/workspaces/${encodeURIComponent(workspace)}/sessions`)
    return (await res.json()) as SessionList
  }

  private request(method: string, path: string, body?: unknown): Promise<Response> {
    return daemonRequest(this.fetchImpl, this.base, this.token, method, path, body)
  }
}

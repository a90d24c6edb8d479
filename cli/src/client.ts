/**
 * The daemon's HTTP API as the user commands (ls, spawn, close) use it; where the running tabula
 * is comes from endpoint.ts.
 */
import { resolve } from 'node:path'
import { DaemonError, daemonRequest, isUuid, type Session, type SessionList, type Workspace } from '@tabula/protocol'
import { resolveEndpoint } from './endpoint.js'
import type { ClientFlags } from './options.js'

export class TabulaClient {
  constructor(
    readonly url: string,
    /** Also what the SDK presents when a command opens a workspace through it. */
    readonly token: string,
    private readonly notRunning: string,
  ) {}

  listWorkspaces(): Promise<Workspace[]> {
    return this.call('GET', '/v1/workspaces')
  }

  getWorkspace(id: string): Promise<Workspace> {
    return this.call('GET', `/v1/workspaces/${encodeURIComponent(id)}`)
  }

  ensureWorkspace(path: string): Promise<Workspace> {
    return this.call('POST', '/v1/workspaces', { path })
  }

  async removeWorkspace(id: string): Promise<void> {
    await this.call('DELETE', `/v1/workspaces/${encodeURIComponent(id)}`)
  }

  listSessions(workspace: string): Promise<SessionList> {
    return this.call('GET', `/v1/workspaces/${encodeURIComponent(workspace)}/sessions`)
  }

  /** Resolves to the session and whether this call started it (201) or found it (200). */
  async spawn(workspace: string, body: Record<string, unknown>): Promise<{ session: Session; created: boolean }> {
    const { status, json } = await this.send('POST', `/v1/workspaces/${encodeURIComponent(workspace)}/sessions`, body)
    return { session: (json as { session: Session }).session, created: status === 201 }
  }

  async close(workspace: string, key: string): Promise<void> {
    await this.call('DELETE', `/v1/workspaces/${encodeURIComponent(workspace)}/sessions/${encodeURIComponent(key)}`)
  }

  /**
   * A workspace named by id, or by a directory (relative to the current one). With `create`, a
   * directory that is not a workspace yet becomes one.
   */
  async findWorkspace(ref: string, create: boolean): Promise<Workspace> {
    if (isUuid(ref)) return this.getWorkspace(ref)
    const path = resolve(ref)
    if (create) return this.ensureWorkspace(path)
    const found = (await this.listWorkspaces()).find((w) => w.path === path)
    if (!found) throw new Error(`no workspace at ${path} (\`tabula ls\` lists them)`)
    return found
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.send(method, path, body)).json as T
  }

  /** A person reads these errors: the daemon's own words, or how to start tabula. */
  private async send(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let res: Response
    try {
      res = await daemonRequest(fetch, this.url, this.token, method, path, body)
    } catch (err) {
      throw new Error(err instanceof DaemonError ? err.detail : this.notRunning)
    }
    return { status: res.status, json: await res.json().catch(() => null) }
  }
}

/** The client for the tabula these flags point at; throws a helpful error when none runs. */
export function connectClient(flags: ClientFlags): TabulaClient {
  const { url, token, unreachable } = resolveEndpoint(flags)
  return new TabulaClient(url, token, unreachable)
}

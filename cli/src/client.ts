/**
 * The daemon's HTTP API as the user commands (ls, spawn, close, rm) use it: the protocol's typed
 * client, with errors turned into what a person reads. Where the running tabula is comes from
 * endpoint.ts.
 */
import { resolve } from 'node:path'
import { DaemonClient, DaemonError, isUuid, type Session, type SessionList, type SpawnRequest, type Workspace } from '@tabula/protocol'
import { resolveEndpoint } from './endpoint.js'
import type { ClientFlags } from './options.js'

export class TabulaClient {
  private readonly daemon: DaemonClient

  constructor(
    url: string,
    token: string,
    private readonly notRunning: string,
  ) {
    this.daemon = new DaemonClient({ url, token })
  }

  listWorkspaces(): Promise<Workspace[]> {
    return this.said(this.daemon.workspaces())
  }

  ensureWorkspace(path: string): Promise<Workspace> {
    return this.said(this.daemon.ensureWorkspace({ path }))
  }

  async removeWorkspace(id: string): Promise<void> {
    await this.said(this.daemon.removeWorkspace(id))
  }

  listSessions(workspace: string): Promise<SessionList> {
    return this.said(this.daemon.sessions(workspace))
  }

  /** Resolves to the session and whether this call started it (201) or found it (200). */
  spawn(workspace: string, request: SpawnRequest): Promise<{ session: Session; created: boolean }> {
    return this.said(this.daemon.spawn(workspace, request))
  }

  async close(workspace: string, key: string): Promise<void> {
    await this.said(this.daemon.close(workspace, key))
  }

  /**
   * A workspace named by id, or by a directory (relative to the current one). With `create`, a
   * directory that is not a workspace yet becomes one.
   */
  async findWorkspace(ref: string, create: boolean): Promise<Workspace> {
    if (isUuid(ref)) return this.said(this.daemon.workspace(ref))
    const path = resolve(ref)
    if (create) return this.ensureWorkspace(path)
    const found = (await this.listWorkspaces()).find((w) => w.path === path)
    if (!found) throw new Error(`no workspace at ${path} (\`tabula ls\` lists them)`)
    return found
  }

  /** A person reads these errors: the daemon's own words, or how to start tabula. */
  private async said<T>(call: Promise<T>): Promise<T> {
    try {
      return await call
    } catch (err) {
      throw new Error(err instanceof DaemonError ? err.detail : this.notRunning)
    }
  }
}

/** The client for the tabula these flags point at; throws a helpful error when none runs. */
export function connectClient(flags: ClientFlags): TabulaClient {
  const { daemonUrl, token, unreachable } = resolveEndpoint(flags)
  return new TabulaClient(daemonUrl, token, unreachable)
}

/**
 * The workspace list for the picker, through the SDK. Its answer is also how the page tells a
 * wrong token (403) or a missing one (401) from an unreachable server.
 */
import { DaemonError, type Client, type WorkspaceInfo } from './sdk.js'

export type { WorkspaceInfo }

export type TokenCheck = { ok: true; workspaces: WorkspaceInfo[] } | { ok: false; reason: 'rejected' | 'unreachable'; status?: number }

export async function listWorkspaces(client: Client): Promise<TokenCheck> {
  try {
    return { ok: true, workspaces: await client.workspaces() }
  } catch (err) {
    const status = err instanceof DaemonError ? err.status : undefined
    if (status === 401 || status === 403) return { ok: false, reason: 'rejected', status }
    return status === undefined ? { ok: false, reason: 'unreachable' } : { ok: false, reason: 'unreachable', status }
  }
}

export function createWorkspace(client: Client, path: string): Promise<WorkspaceInfo> {
  return client.ensureWorkspace({ path }).catch((err: unknown) => {
    throw new Error(err instanceof DaemonError ? err.detail : 'tabula is not reachable; try again when it is')
  })
}

/** Removes a workspace; the daemon's refusal (it still has sessions) comes back in its own words. */
export function removeWorkspace(client: Client, id: string): Promise<void> {
  return client.removeWorkspace(id).catch((err: unknown) => {
    throw new Error(err instanceof DaemonError ? err.detail : 'tabula is not reachable; try again when it is')
  })
}

const KNOWN_KEY = 'tabula.workspaces'

/**
 * The workspaces last listed, kept in localStorage, so a page reloaded while offline can still
 * name the workspace it shows instead of printing its id.
 */
export function rememberWorkspaces(workspaces: WorkspaceInfo[]): void {
  try {
    localStorage.setItem(KNOWN_KEY, JSON.stringify(workspaces.map(({ id, path, name }) => ({ id, path, name }))))
  } catch {
    // Storage full or disabled: the name falls back to the id, nothing else depends on it.
  }
}

export function knownWorkspaces(): WorkspaceInfo[] {
  try {
    const known: unknown = JSON.parse(localStorage.getItem(KNOWN_KEY) ?? '[]')
    return Array.isArray(known) ? (known as WorkspaceInfo[]).filter((w) => typeof w?.id === 'string') : []
  } catch {
    return []
  }
}

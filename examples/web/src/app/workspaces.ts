/**
 * The workspace list for the picker. STOPGAP (until the SDK offers a call for it): the page reads
 * `GET /v1/workspaces` and `POST /v1/workspaces` itself with the same bearer token. This is also
 * how the page tells a wrong token (403) or a missing one (401) from an unreachable server.
 */
export interface WorkspaceInfo {
  id: string
  path: string
  name: string
}

export type TokenCheck = { ok: true; workspaces: WorkspaceInfo[] } | { ok: false; reason: 'rejected' | 'unreachable'; status?: number }

export async function listWorkspaces(token: string): Promise<TokenCheck> {
  let res: Response
  try {
    res = await fetch('/v1/workspaces', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' })
  } catch {
    return { ok: false, reason: 'unreachable' }
  }
  if (res.status === 401 || res.status === 403) return { ok: false, reason: 'rejected', status: res.status }
  if (!res.ok) return { ok: false, reason: 'unreachable', status: res.status }
  const body = (await res.json()) as WorkspaceInfo[] | { workspaces: WorkspaceInfo[] }
  return { ok: true, workspaces: Array.isArray(body) ? body : body.workspaces }
}

export async function createWorkspace(token: string, path: string, name?: string): Promise<WorkspaceInfo> {
  const res = await fetch('/v1/workspaces', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(name ? { path, name } : { path }),
  })
  const body = (await res.json()) as WorkspaceInfo | { workspace: WorkspaceInfo } | { error: { message: string } }
  if (!res.ok) throw new Error('error' in body ? body.error.message : `HTTP ${res.status}`)
  return 'workspace' in body ? body.workspace : (body as WorkspaceInfo)
}

/**
 * Where the running tabula is and which workspace to show, resolved the way the CLI does it:
 * explicit settings first, else `<home>/runtime.json` and `<home>/token`.
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export interface Endpoint {
  url: string
  token: string
}

export function resolveEndpoint(settings: { home?: string; url?: string; token?: string }): Endpoint {
  const home = resolve(settings.home || process.env.TABULA_HOME || join(homedir(), '.tabula'))
  let url = settings.url
  if (!url) {
    try {
      const runtime = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')) as { url?: string; daemonUrl?: string }
      url = runtime.url ?? runtime.daemonUrl
    } catch {
      // reported below
    }
  }
  if (!url) throw new Error(`no tabula running under ${home}: start it with \`tabula up\`, or set tabula.url`)
  let token = settings.token
  if (!token) {
    try {
      token = readFileSync(join(home, 'token'), 'utf8').trim()
    } catch {
      // reported below
    }
  }
  if (!token) throw new Error(`no token: set tabula.token, or make ${join(home, 'token')} readable`)
  return { url: url.replace(/\/+$/, ''), token }
}

/**
 * The workspace id: the setting when given, else the workspace of the open folder (created if
 * tabula does not know the folder yet). STOPGAP until the SDK offers a workspace list: this uses
 * the daemon's `POST /v1/workspaces` (find-or-create by path) with the same token.
 */
export async function resolveWorkspace(endpoint: Endpoint, setting: string | undefined, folder: string | undefined): Promise<string> {
  if (setting) return setting
  if (!folder) throw new Error('open a folder, or set tabula.workspace to a workspace id')
  const res = await fetch(`${endpoint.url}/v1/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ path: folder }),
  })
  const body = (await res.json()) as { id?: string; workspace?: { id: string }; error?: { message: string } }
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`)
  const id = body.id ?? body.workspace?.id
  if (!id) throw new Error('unexpected answer from POST /v1/workspaces')
  return id
}

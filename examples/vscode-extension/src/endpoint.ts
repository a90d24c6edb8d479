/**
 * Where the running tabula is and which workspace to show, resolved the way the CLI does it:
 * explicit settings first, else `<home>/runtime.json` and `<home>/token`.
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TabulaClient } from '@tabula/client-sdk'

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
 * tabula does not know the folder yet).
 */
export async function resolveWorkspace(client: Pick<TabulaClient, 'ensureWorkspace'>, setting: string | undefined, folder: string | undefined): Promise<string> {
  if (setting) return setting
  if (!folder) throw new Error('open a folder, or set tabula.workspace to a workspace id')
  return (await client.ensureWorkspace({ path: folder })).id
}

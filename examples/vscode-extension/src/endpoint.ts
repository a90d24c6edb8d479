/**
 * Where the running tabula is and which workspace to show, found the way the CLI finds it (the
 * SDK's `discover`): explicit settings first, else `<home>/runtime.json` (only while its process
 * lives) and `<home>/token`.
 */
import { discover, DiscoverError, type Discovered, type TabulaClient } from '@tabula/client-sdk'
import { join } from 'node:path'

export type Endpoint = Pick<Discovered, 'daemonUrl' | 'syncUrl' | 'token'>

export function resolveEndpoint(settings: { home?: string; url?: string; token?: string }): Endpoint {
  try {
    const { daemonUrl, syncUrl, token } = discover(settings)
    return { daemonUrl, syncUrl, token }
  } catch (err) {
    if (!(err instanceof DiscoverError)) throw err
    if (err.reason === 'not_running') throw new Error(`no tabula running under ${err.home}: start it with \`tabula up\`, or set tabula.url`)
    throw new Error(`no token: set tabula.token, or make ${join(err.home, 'token')} readable`)
  }
}

/**
 * The workspace id: the setting when given, else the workspace of the open folder (created if
 * tabula does not know the folder yet).
 */
export async function resolveWorkspace(
  client: Pick<TabulaClient, 'ensureWorkspace'>,
  setting: string | undefined,
  folder: string | undefined,
): Promise<string> {
  if (setting) return setting
  if (!folder) throw new Error('open a folder, or set tabula.workspace to a workspace id')
  return (await client.ensureWorkspace({ path: folder })).id
}

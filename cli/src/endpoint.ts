/**
 * Where the running tabula is and how to get in, for every user command: `--url`/`--token`, else
 * the address in `<home>/runtime.json` (only while its process lives) and the secret in
 * `<home>/token`.
 */
import { join } from 'node:path'
import { homePath, readLiveRuntimeInfo, readToken } from '@tabula/server-kit'
import type { ClientFlags } from './options.js'

export interface Endpoint {
  url: string
  token: string
  /** What to tell a person when the address does not answer. */
  unreachable: string
}

/** Throws a message that says what to do when no tabula runs or the token cannot be read. */
export function resolveEndpoint(flags: ClientFlags): Endpoint {
  // Not resolveHome: a command that only reads should not create ~/.tabula.
  const home = homePath(flags.home)
  const notRunning = `no tabula running under ${home}: start it with \`npm start\` or \`tabula up\``
  const url = flags.url ?? runningUrl(home)
  if (!url) throw new Error(notRunning)
  const token = flags.token ?? readToken(home)
  if (!token) throw new Error(`no token: pass --token, or make ${join(home, 'token')} readable`)
  return { url: url.replace(/\/+$/, ''), token, unreachable: flags.url ? `cannot reach tabula at ${flags.url}` : notRunning }
}

function runningUrl(home: string): string | undefined {
  const info = readLiveRuntimeInfo(home)
  return info ? (info.url ?? info.daemonUrl) : undefined
}

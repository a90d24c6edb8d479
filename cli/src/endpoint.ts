/**
 * Where the running tabula is and how to get in, for every user command: `--url`/`--token`, else
 * what the SDK's `discover` finds under the home (runtime.json while its process lives, and
 * `<home>/token`), with the errors phrased in the CLI's own terms.
 */
import { discover, DiscoverError } from '@tabula/client-sdk'
import { join } from 'node:path'
import type { ClientFlags } from './options.js'

export interface Endpoint {
  daemonUrl: string
  syncUrl: string
  token: string
  /** What to tell a person when the address does not answer. */
  unreachable: string
}

/** Throws a message that says what to do when no tabula runs or the token cannot be read. */
export function resolveEndpoint(flags: ClientFlags): Endpoint {
  try {
    const found = discover({ home: flags.home, url: flags.url, token: flags.token })
    return {
      daemonUrl: found.daemonUrl,
      syncUrl: found.syncUrl,
      token: found.token,
      unreachable: flags.url ? `cannot reach tabula at ${flags.url}` : notRunning(found.home),
    }
  } catch (err) {
    if (!(err instanceof DiscoverError)) throw err
    if (err.reason === 'not_running') throw new Error(notRunning(err.home))
    throw new Error(`no token: pass --token, or make ${join(err.home, 'token')} readable`)
  }
}

function notRunning(home: string): string {
  return `no tabula running under ${home}: start it with \`npm start\` or \`tabula up\``
}

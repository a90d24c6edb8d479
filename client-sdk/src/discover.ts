/**
 * Finds the tabula running on this machine, the way every local tool does it (the CLI's user
 * commands, the VS Code extension, programs using the SDK in Node): explicit settings first, else
 * `<home>/runtime.json`, trusted only while the process that wrote it is alive and holds the
 * home's lock (a crash leaves a stale file, and its pid may belong to another program by now),
 * and the secret in `<home>/token`.
 *
 * Node only: it reads files. It is exported by the SDK's Node entry alone (index.ts), never by
 * the browser entry, so no browser bundle can pick it up (docs/sdk.md, "Finding the running
 * tabula").
 */
import { join } from 'node:path'
import { homePath, readLiveRuntimeInfo, readToken } from '@tabula/server-kit'
import { toHttpUrl } from './urls.js'

export interface DiscoverOptions {
  /** The home (default: `$TABULA_HOME`, else `~/.tabula`). Only read, never created. */
  home?: string
  /** The address to use instead of the one in runtime.json (the daemon and sync server on it). */
  url?: string
  /** The token to use instead of `<home>/token`. */
  token?: string
}

/** Where the running tabula is and how to get in: what `connect` takes, and a little more. */
export interface Discovered {
  home: string
  /** The serving process, or null when the address was given rather than found. */
  pid: number | null
  daemonUrl: string
  /** The sync server: the same address under `tabula up`. */
  syncUrl: string
  /** Every address a person can open (`tabula up` on several interfaces), for links. */
  urls: string[]
  token: string
}

export type DiscoverProblem = 'not_running' | 'no_token'

/** Why nothing was found; `reason` lets each tool say what to do in its own terms (flags, settings). */
export class DiscoverError extends Error {
  constructor(
    readonly reason: DiscoverProblem,
    readonly home: string,
    message: string,
  ) {
    super(message)
    this.name = 'DiscoverError'
  }
}

/** The running tabula; throws a DiscoverError when none runs under the home or no token can be read. */
export function discover(options: DiscoverOptions = {}): Discovered {
  const home = homePath(options.home)
  const running = options.url ? null : readLiveRuntimeInfo(home)
  const daemonUrl = options.url ?? running?.url ?? running?.daemonUrl
  if (!daemonUrl) throw new DiscoverError('not_running', home, `no tabula running under ${home}: start it with \`tabula up\``)
  const token = options.token ?? readToken(home)
  if (!token) throw new DiscoverError('no_token', home, `no token: make ${join(home, 'token')} readable`)
  const syncUrl = options.url ?? running?.url ?? running?.syncUrl ?? daemonUrl
  return {
    home,
    pid: running?.pid ?? null,
    daemonUrl: toHttpUrl(daemonUrl),
    syncUrl: toHttpUrl(syncUrl),
    urls: running?.urls ?? [toHttpUrl(daemonUrl)],
    token,
  }
}

/**
 * A connected client: one live channel to the daemon for every workspace it shows (one socket per
 * viewer, docs/protocol.md), and one sync socket per workspace document.
 */
import { DaemonClient, type ViewerInfo } from '@tabula/protocol'
import type { ConnectOptions, StorageProvider, TabulaClient, WebSocketConstructor, WorkspaceView } from './api.js'
import { createLiveClient } from './live/index.js'
import type { LiveClient } from './live/types.js'
import { toHttpUrl } from './urls.js'
import { Workspace } from './workspace.js'

/** What differs between a browser and Node: the socket class and where offline state goes. */
export interface Platform {
  WebSocket: WebSocketConstructor | undefined
  /** The storage a `storage: "<name>"` option means on this platform. */
  namedStorage(name: string): StorageProvider
}

const DEFAULT_VIEWER: ViewerInfo = { name: 'tabula-sdk', kind: 'sdk' }
const DEFAULT_PRUNE_AFTER_MS = 60_000

export function createClient(options: ConnectOptions, platform: Platform): TabulaClient {
  const daemonUrl = toHttpUrl(options.url ?? options.daemonUrl!)
  const syncUrl = toHttpUrl(options.url ?? options.syncUrl!)
  if (!daemonUrl || !syncUrl) throw new TypeError('connect: give {url} or {daemonUrl, syncUrl}')
  if (!options.token) throw new TypeError('connect: a token is required (the contents of <home>/token)')
  const WebSocketClass = options.WebSocket ?? platform.WebSocket
  if (!WebSocketClass) throw new TypeError('connect: no WebSocket available; pass the WebSocket option')
  const viewer = options.viewer ?? DEFAULT_VIEWER
  const storage = typeof options.storage === 'string' ? platform.namedStorage(options.storage) : options.storage || null

  const live: LiveClient = createLiveClient({ daemonUrl, token: options.token, viewer, WebSocket: WebSocketClass })
  const http = new DaemonClient({ url: daemonUrl, token: options.token, fetch: options.fetch })
  const workspaces = new Map<string, Workspace>()
  let closed = false

  return {
    get viewerId() {
      return live.viewerId
    },
    workspace(id: string): WorkspaceView {
      if (closed) throw new Error('this client is closed')
      let view = workspaces.get(id)
      if (!view) {
        view = new Workspace({
          id,
          live,
          http,
          syncUrl,
          token: options.token,
          WebSocket: WebSocketClass,
          viewer,
          storage,
          pruneAfterMs: options.pruneAfterMs ?? DEFAULT_PRUNE_AFTER_MS,
        })
        workspaces.set(id, view)
      }
      return view
    },
    workspaces: () => http.workspaces(),
    ensureWorkspace: (request) => http.ensureWorkspace(request),
    removeWorkspace: async (id) => void (await http.removeWorkspace(id)),
    sessionsIn: async (workspace) => (await http.sessions(workspace)).sessions,
    async close() {
      if (closed) return
      closed = true
      await Promise.all([...workspaces.values()].map((w) => w.dispose()))
      await live.close()
    },
  }
}

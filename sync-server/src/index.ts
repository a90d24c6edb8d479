/**
 * @tabula/sync-server: a y-websocket-compatible relay and store for tabula's per-workspace layout
 * documents (docs/sync.md). Mounted on the shared host, which has already checked Origin and token
 * by the time an upgrade reaches this component.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { join } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import { isUuid, MAX_SYNC_MESSAGE_BYTES, seedLayout, SYNC_PATH, type V1Conversion } from '@tabula/protocol'
import { HttpError, keepalive, principalOf, selectSubprotocol, sendJson, type Component, type Logger } from '@tabula/server-kit'
import { createLowdbStore, type DocStore } from './store.js'
import { localRooms, type RoomEngine } from './rooms.js'
import { RoomRegistry } from './registry.js'
import { serveConnection } from './connection.js'

export { FLUSH_WINDOW_MS, type Peer } from './room.js'
export { createLowdbStore, type DocStore, type StoredDoc } from './store.js'
export { localRooms, type LoadedRoom, type RoomEngine } from './rooms.js'
export { UNLOAD_RETRY_MAX_MS } from './registry.js'
export { MAX_BUFFERED_BYTES } from './connection.js'
export { createRedisRooms, redactUrl, type RedisEngine } from './redis/index.js'

/**
 * How long a document with no connection stays loaded. Long enough that a page reload or a
 * brief network drop does not pay for a reload from disk; short enough that a thousand
 * workspaces visited once do not all stay in memory.
 */
export const UNLOAD_GRACE_MS = 30_000

/**
 * How often connections are pinged. A peer that has not answered the previous ping is cut, so
 * a vanished client (laptop lid closed) releases its presence and its share of the document.
 */
export const PING_INTERVAL_MS = 30_000

/** The path prefix the stock provider is given (`url + '/sync'`; protocol/src/routes.ts); the room name follows. */
export { SYNC_PATH }

export interface SyncServerOptions {
  home: string
  log: Logger
  /** When the daemon runs in the same process: refuse rooms that name no workspace. */
  workspaceExists?: (id: string) => boolean
  /** Where documents are kept (default: lowdb files under `<home>/layouts`). */
  store?: DocStore
  /**
   * Where rooms live (default: in this process, documents in `store`). `createRedisRooms(url)`
   * shares them with every instance on the same Redis; `store` is then not used.
   */
  rooms?: RoomEngine
  /** Overrides UNLOAD_GRACE_MS (tests). */
  unloadGraceMs?: number
  /** Serve `GET /v1/health` (when the sync server runs alone; under `tabula up` the daemon does). */
  serveHealth?: boolean
  version?: string
}

export interface SyncServer extends Component {
  /**
   * Writes the v1 conversion into the workspace's document when that document has never been
   * written, and saves it before returning. False (and nothing written) when it already exists.
   */
  seedIfEmpty(workspaceId: string, conversion: V1Conversion): Promise<boolean>
  /** Writes every loaded document that has unsaved changes. */
  flush(): Promise<void>
  /** What is loaded, for tests and diagnostics. */
  stats(): { loadedDocs: number; connections: number }
}

export async function createSyncServer(opts: SyncServerOptions): Promise<SyncServer> {
  const { log } = opts
  const engine = opts.rooms ?? localRooms(opts.store ?? createLowdbStore(join(opts.home, 'layouts')), log)
  const rooms = new RoomRegistry(engine, log, opts.unloadGraceMs ?? UNLOAD_GRACE_MS)
  const sockets = new Set<WebSocket>()
  const silent = keepalive(PING_INTERVAL_MS)
  let closing = false

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_SYNC_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (protocols) => selectSubprotocol(protocols),
  })

  function connect(ws: WebSocket, name: string, watchOnly: boolean): void {
    sockets.add(ws)
    silent.watch(ws)
    serveConnection(ws, rooms.acquire(name), { log, watchOnly, onClose: () => sockets.delete(ws) })
  }

  return {
    name: 'sync',

    isPublic: (req, url) => Boolean(opts.serveHealth) && req.method === 'GET' && url.pathname === '/v1/health',

    handleRequest(req: IncomingMessage, res: ServerResponse, url: URL) {
      if (opts.serveHealth && req.method === 'GET' && url.pathname === '/v1/health') {
        sendJson(res, 200, { ok: true, version: opts.version ?? '0.0.0' })
        return true
      }
      if (isSyncPath(url)) throw new HttpError(400, 'bad_request', `${SYNC_PATH}/<workspace> speaks WebSocket only`)
      return false
    },

    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
      if (!isSyncPath(url)) return false
      const name = roomName(url, opts.workspaceExists)
      if (closing) throw new HttpError(503, 'internal', 'the sync server is shutting down')
      const unavailable = engine.unavailable()
      if (unavailable) throw new HttpError(503, 'internal', unavailable)
      const watchOnly = principalOf(req)?.scope !== 'full'
      wss.handleUpgrade(req, socket, head, (ws) => connect(ws, name, watchOnly))
      return true
    },

    async seedIfEmpty(workspaceId, conversion) {
      const lease = rooms.acquire(workspaceId)
      try {
        await lease.room.ready
        await lease.room.settled()
        return await lease.room.edit((doc) => seedLayout(doc, conversion))
      } finally {
        lease.release()
      }
    },

    flush: () => rooms.flush(),

    stats: () => ({ loadedDocs: rooms.size, connections: sockets.size }),

    async close() {
      if (closing) return
      closing = true
      silent.stop()
      for (const ws of sockets) ws.close(1001, 'server shutting down')
      const failed = await rooms.close()
      for (const ws of sockets) ws.terminate()
      wss.close()
      await engine.close()
      if (failed > 0) throw new Error(`${failed} layout document(s) could not be saved at shutdown`)
    },
  }
}

function isSyncPath(url: URL): boolean {
  return url.pathname === SYNC_PATH || url.pathname.startsWith(SYNC_PATH + '/')
}

/** The workspace a sync URL names (`/sync/<uuid>`); refused with the reason when it names none. */
function roomName(url: URL, workspaceExists?: (id: string) => boolean): string {
  let name: string
  try {
    name = decodeURIComponent(url.pathname.slice(SYNC_PATH.length + 1))
  } catch {
    name = ''
  }
  if (!isUuid(name)) {
    throw new HttpError(400, 'bad_request', `"${name}" is not a workspace id: connect to ${SYNC_PATH}/<workspace uuid>`)
  }
  if (workspaceExists && !workspaceExists(name)) throw new HttpError(404, 'not_found', `no workspace ${name}`)
  return name
}

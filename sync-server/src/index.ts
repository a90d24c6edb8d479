/**
 * @tabula/sync-server: a y-websocket-compatible relay and store for tabula's per-workspace layout
 * documents (docs/sync.md). Mounted on the shared host, which has already checked Origin and token
 * by the time an upgrade reaches this component.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { join } from 'node:path'
import { WebSocketServer, type WebSocket, type RawData } from 'ws'
import { isUuid, MAX_SYNC_MESSAGE_BYTES, seedLayout, type V1Conversion } from '@tabula/protocol'
import { HttpError, keepalive, principalOf, selectSubprotocol, sendJson, type Component, type Logger } from '@tabula/server-kit'
import type { Peer } from './room.js'
import { createLowdbStore, type DocStore } from './store.js'
import { localRooms, type LoadedRoom, type RoomEngine } from './rooms.js'
import { decodeClientMessage, encodePermissionDenied, isEmptyUpdate, MalformedMessage } from './messages.js'

export { FLUSH_WINDOW_MS, type Peer } from './room.js'
export { createLowdbStore, type DocStore, type StoredDoc } from './store.js'
export { localRooms, type LoadedRoom, type RoomEngine } from './rooms.js'
export { createRedisRooms, redactUrl, type RedisEngine } from './redis/index.js'

/**
 * How long a document with no connection stays loaded. Long enough that a page reload or a
 * brief network drop does not pay for a reload from disk; short enough that a thousand
 * workspaces visited once do not all stay in memory.
 */
export const UNLOAD_GRACE_MS = 30_000

/**
 * Longest wait between attempts to unload a document whose final write failed (the first
 * retry waits one grace, each next one twice as long, up to this). The document stays loaded
 * meanwhile, so nothing is lost; retrying means a store that recovers (disk space freed) lets
 * it go without waiting for someone to connect and leave again.
 */
export const UNLOAD_RETRY_MAX_MS = 5 * 60_000

/**
 * How often connections are pinged. A peer that has not answered the previous ping is cut, so
 * a vanished client (laptop lid closed) releases its presence and its share of the document.
 */
export const PING_INTERVAL_MS = 30_000

/**
 * Bytes a connection may have queued unsent before it is cut. A slow client must not make the
 * server buffer without bound; cut, it reconnects and resyncs from the document.
 */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024

/** The path prefix the stock provider is given (`url + '/sync'`); the room name follows. */
export const SYNC_PATH = '/sync'

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
  const unloadGraceMs = opts.unloadGraceMs ?? UNLOAD_GRACE_MS
  const rooms = new Map<string, LoadedRoom>()
  const unloadTimers = new Map<string, NodeJS.Timeout>()
  const sockets = new Set<WebSocket>()
  let closing = false

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_SYNC_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (protocols) => selectSubprotocol(protocols),
  })

  const silent = keepalive(PING_INTERVAL_MS)

  /** The room for `name`, loaded on first use; counted as in use until `release`. */
  function acquire(name: string): LoadedRoom {
    const timer = unloadTimers.get(name)
    if (timer) {
      clearTimeout(timer)
      unloadTimers.delete(name)
    }
    let room = rooms.get(name)
    if (!room) {
      room = engine.open(name)
      rooms.set(name, room)
      const loading = room
      loading.ready.catch((err) => {
        log.error({ err, workspace: name }, 'cannot load the layout document; it is left untouched on disk')
        if (rooms.get(name) === loading) rooms.delete(name)
      })
    }
    room.refs++
    return room
  }

  function release(room: LoadedRoom): void {
    room.refs--
    scheduleUnload(room, unloadGraceMs, 0)
  }

  /** Unloads `room` after `delayMs` if nobody uses it by then; `failures` counts failed writes so far. */
  function scheduleUnload(room: LoadedRoom, delayMs: number, failures: number): void {
    if (room.refs > 0 || closing || rooms.get(room.name) !== room || unloadTimers.has(room.name)) return
    unloadTimers.set(
      room.name,
      setTimeout(() => void unload(room, failures), delayMs),
    )
  }

  async function unload(room: LoadedRoom, failures: number): Promise<void> {
    unloadTimers.delete(room.name)
    try {
      await room.settled()
      await room.flush()
    } catch {
      // Logged by the room, which stays loaded and keeps retrying the write, so nothing is lost.
      // Try the unload again too, backing off, so the room does not stay loaded until the next
      // connection comes and goes. A connection arriving meanwhile cancels this (acquire).
      const wait = Math.min(UNLOAD_RETRY_MAX_MS, unloadGraceMs * 2 ** Math.min(failures, 16))
      scheduleUnload(room, wait, failures + 1)
      return
    }
    // Someone may have arrived while the write was in flight.
    if (room.refs > 0 || rooms.get(room.name) !== room) return
    rooms.delete(room.name)
    await room.close()
    log.debug({ workspace: room.name }, 'layout document unloaded')
  }

  function roomName(url: URL): string | null {
    if (url.pathname !== SYNC_PATH && !url.pathname.startsWith(SYNC_PATH + '/')) return null
    let name: string
    try {
      name = decodeURIComponent(url.pathname.slice(SYNC_PATH.length + 1))
    } catch {
      name = ''
    }
    if (!isUuid(name)) {
      throw new HttpError(400, 'bad_request', `"${name}" is not a workspace id: connect to ${SYNC_PATH}/<workspace uuid>`)
    }
    if (opts.workspaceExists && !opts.workspaceExists(name)) {
      throw new HttpError(404, 'not_found', `no workspace ${name}`)
    }
    return name
  }

  /** Told to a watch-only device each time it sends a change (the stock provider logs it). */
  const WATCH_ONLY_REASON = 'this device can only watch: layout changes are refused (pair it without --watch-only to edit)'

  function connect(ws: WebSocket, name: string, watchOnly: boolean): void {
    sockets.add(ws)
    silent.watch(ws)
    const room = acquire(name)
    const peer: Peer = {
      send(data) {
        if (ws.readyState !== ws.OPEN) return
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          cut(1013, `more than ${MAX_BUFFERED_BYTES} bytes queued for a slow connection`)
          return
        }
        ws.send(data)
      },
      close(code, reason) {
        ws.close(code, reason)
      },
    }
    const queue: Array<{ data: RawData; isBinary: boolean }> = []
    let attached = false
    let gone = false

    function cut(code: number, reason: string): void {
      log.warn({ workspace: name, reason }, 'closing a sync connection')
      ws.close(code, reason.slice(0, 120)) // a close reason must fit in 123 bytes
    }

    function handle(data: RawData, isBinary: boolean): void {
      if (!isBinary) return cut(1003, 'text frames are not part of the protocol')
      const bytes = toBytes(data)
      let message
      try {
        message = decodeClientMessage(bytes)
      } catch (err) {
        return cut(1007, err instanceof MalformedMessage ? err.message : 'malformed message')
      }
      // A watch-only device reads the document and shares presence, but changes nothing (docs/daemon.md, "Devices").
      // Its answer to sync step 1 is usually empty; only a real change is refused, and said so.
      if (watchOnly && message.type === 'sync-update') {
        if (!isEmptyUpdate(message.update)) peer.send(encodePermissionDenied(WATCH_ONLY_REASON))
        return
      }
      room.receive(peer, message)
    }

    ws.on('error', (err) => log.warn({ workspace: name, reason: err.message }, 'sync connection error'))
    ws.on('message', (data, isBinary) => {
      if (!attached) queue.push({ data, isBinary })
      else handle(data, isBinary)
    })
    ws.on('close', () => {
      gone = true
      sockets.delete(ws)
      if (attached) room.detach(peer)
      release(room)
    })
    room.ready.then(
      () => {
        if (gone) return
        attached = true
        room.attach(peer)
        for (const { data, isBinary } of queue.splice(0)) handle(data, isBinary)
      },
      () => ws.close(1011, 'the layout document cannot be loaded; see the server log'),
    )
  }

  return {
    name: 'sync',

    isPublic: (req, url) => Boolean(opts.serveHealth) && req.method === 'GET' && url.pathname === '/v1/health',

    handleRequest(req: IncomingMessage, res: ServerResponse, url: URL) {
      if (opts.serveHealth && req.method === 'GET' && url.pathname === '/v1/health') {
        sendJson(res, 200, { ok: true, version: opts.version ?? '0.0.0' })
        return true
      }
      if (url.pathname === SYNC_PATH || url.pathname.startsWith(SYNC_PATH + '/')) {
        throw new HttpError(400, 'bad_request', `${SYNC_PATH}/<workspace> speaks WebSocket only`)
      }
      return false
    },

    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
      const name = roomName(url)
      if (name === null) return false
      if (closing) throw new HttpError(503, 'internal', 'the sync server is shutting down')
      const unavailable = engine.unavailable()
      if (unavailable) throw new HttpError(503, 'internal', unavailable)
      const watchOnly = principalOf(req)?.scope !== 'full'
      wss.handleUpgrade(req, socket, head, (ws) => connect(ws, name, watchOnly))
      return true
    },

    async seedIfEmpty(workspaceId, conversion) {
      const room = acquire(workspaceId)
      try {
        await room.ready
        await room.settled()
        return await room.edit((doc) => seedLayout(doc, conversion))
      } finally {
        release(room)
      }
    },

    async flush() {
      await Promise.all([...rooms.values()].map((room) => room.flush()))
    },

    stats: () => ({ loadedDocs: rooms.size, connections: sockets.size }),

    async close() {
      if (closing) return
      closing = true
      silent.stop()
      for (const timer of unloadTimers.values()) clearTimeout(timer)
      unloadTimers.clear()
      for (const ws of sockets) ws.close(1001, 'server shutting down')
      const results = await Promise.allSettled(
        [...rooms.values()].map(async (room) => {
          await room.ready.catch(() => {})
          await room.close()
        }),
      )
      rooms.clear()
      for (const ws of sockets) ws.terminate()
      wss.close()
      await engine.close()
      const failed = results.filter((r) => r.status === 'rejected')
      if (failed.length > 0) throw new Error(`${failed.length} layout document(s) could not be saved at shutdown`)
    },
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data))
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

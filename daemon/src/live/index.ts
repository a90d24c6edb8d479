/**
 * The live channel (docs/protocol.md): one WebSocket per viewer at `/v1/live`, carrying
 * workspace events and every attached terminal. This module owns the sockets, one headless mirror
 * per session, and the fan-out between them; channel.ts routes one viewer's frames.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { WebSocketServer, type WebSocket } from 'ws'
import { LIVE_PATH, LIVE_SOCKET_MAX_PAYLOAD_BYTES, MAX_LIVE_SOCKETS, clampTitle, type ServerFrame, type Session } from '@tabula/protocol'
import { HttpError, keepalive, principalOf, rejectUpgrade, selectSubprotocol, type Logger } from '@tabula/server-kit'
import type { SessionChange, SessionMapView } from '../sessions/types.js'
import type { Attachment } from './attachment.js'
import { Connection, type Hub } from './channel.js'
import { Mirror, type Snapshot } from './mirror.js'
import { workerScreenHost, type ScreenHost } from '../screen/screen-host.js'
import { Viewer } from './viewer.js'
import { InputGate, hasInputRoom } from './input-bound.js'

export { FLOW_HIGH_WATERMARK, FLOW_LOW_WATERMARK } from './mirror.js'
export { SEND_WINDOW_BYTES, VIEWER_QUEUE_LIMIT_BYTES, VIEWER_HARD_LIMIT_BYTES } from './viewer.js'

export interface LiveChannelOptions {
  sessions: SessionMapView
  hasWorkspace(id: string): boolean
  log: Logger
  /** Lines of scrollback per headless terminal. */
  scrollback: number
  version: string
  /** Skip flood text that would scroll out unseen (fast-forward.ts); ignored with `screenHost`. */
  fastForward?: boolean
  /** Where headless screens are parsed; a worker thread by default (see screen-host.ts). */
  screenHost?: ScreenHost
}

export interface LiveChannel {
  /** True when the upgrade was for the live channel (`/v1/live`) and has been taken. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean
  /**
   * The session's screen now, cut in order with its output (what a late viewer would get), for a
   * save: no viewer waits on it, so a costly screen stays capped meanwhile; null without one.
   */
  snapshot(key: string): Promise<Snapshot | null>
  /** Bytes for the session's screen (and attached viewers) that did not come from its program: a restored screen. */
  prefill(key: string, data: Uint8Array): void
  close(): Promise<void>
}

/**
 * A silent peer is pinged this often and dropped when it has not answered by the next ping: a
 * phone that lost its network otherwise keeps its driver role (and its queue) until TCP gives up,
 * which can take many minutes.
 */
export const KEEPALIVE_INTERVAL_MS = 30_000

/** How long shutdown waits for viewers to acknowledge the close before cutting their sockets. */
export const CLOSE_GRACE_MS = 500

interface MirrorEntry {
  mirror: Mirror
  stopOutput: () => void
  exit: { exitCode: number | null } | null
}

/** Must be created before any session is spawned or restored, so every byte is mirrored. */
export function createLiveChannel(opts: LiveChannelOptions): LiveChannel {
  const { sessions, log } = opts
  const mirrors = new Map<string, MirrorEntry>()
  const attached = new Map<string, Set<Attachment>>()
  const connections = new Map<string, Connection>()
  /** Each viewer's hold on reading its socket while its input is refused (input-bound.ts). */
  const gates = new Map<string, InputGate>()
  const screenHost = opts.screenHost ?? workerScreenHost({ fastForward: opts.fastForward, warn: (message) => log.warn(message) })

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: LIVE_SOCKET_MAX_PAYLOAD_BYTES,
    // Terminal output is already dense, and compression costs more CPU than it saves on loopback.
    perMessageDeflate: false,
    handleProtocols: (protocols) => selectSubprotocol(protocols),
  })

  const hub: Hub = {
    sessions,
    log,
    hasWorkspace: (id) => opts.hasWorkspace(id),
    mirror: (key) => mirrors.get(key)?.mirror,
    join(attachment) {
      let set = attached.get(attachment.key)
      if (!set) attached.set(attachment.key, (set = new Set()))
      set.add(attachment)
    },
    leave(attachment) {
      const set = attached.get(attachment.key)
      set?.delete(attachment)
      if (set?.size === 0) attached.delete(attachment.key)
    },
    sizeFrame(key, ch) {
      const info = sessions.get(key)?.info()
      return info ? { type: 'size', ch, cols: info.cols, rows: info.rows, activeViewer: info.activeViewer } : null
    },
    broadcastSize(key) {
      for (const attachment of attached.get(key) ?? []) {
        const frame = hub.sizeFrame(key, attachment.ch)
        if (frame) attachment.control(frame)
      }
    },
    exitOf: (key) => mirrors.get(key)?.exit ?? null,
    inputRefused(viewer, key) {
      gates.get(viewer.id)?.hold(() => {
        const pty = sessions.get(key)?.pty
        return !pty || hasInputRoom(pty)
      })
    },
  }

  function startMirror(session: Session): void {
    const live = sessions.get(session.key)
    if (!live || mirrors.has(session.key)) return
    const mirror = new Mirror({
      cols: session.cols,
      rows: session.rows,
      scrollback: opts.scrollback,
      pty: live.pty,
      host: screenHost,
      label: session.key,
      onTitle: (title) => {
        if (sessions.get(session.key)) sessions.update(session.key, { title: clampTitle(title) })
      },
    })
    const stopOutput = sessions.onOutput(session.key, (data) => mirror.write(data))
    const exit = session.status === 'exited' ? { exitCode: session.exitCode } : null
    mirrors.set(session.key, { mirror, stopOutput, exit })
  }

  function endMirror(key: string): void {
    // Output read before the close still reaches the viewers, ahead of their `detached`.
    mirrors.get(key)?.mirror.flush()
    for (const attachment of attached.get(key) ?? []) {
      attachment.end({ type: 'detached', ch: attachment.ch, reason: 'closed' })
      connections.get(attachment.viewer.id)?.forget(attachment)
    }
    attached.delete(key)
    const entry = mirrors.get(key)
    if (!entry) return
    mirrors.delete(key)
    entry.stopOutput()
    entry.mirror.dispose()
  }

  function noteExit(session: Session): void {
    const entry = mirrors.get(session.key)
    if (!entry || entry.exit || session.status !== 'exited') return
    entry.exit = { exitCode: session.exitCode }
    // The program's last output comes before the news that it exited.
    entry.mirror.flush()
    for (const attachment of attached.get(session.key) ?? []) {
      attachment.control({ type: 'exit', ch: attachment.ch, exitCode: session.exitCode })
    }
  }

  const stopChanges = sessions.onChange((change: SessionChange) => {
    try {
      if (change.type === 'added') startMirror(change.session)
      else if (change.type === 'updated') noteExit(change.session)
      // Watchers hear of a removal before the attached viewers are detached, as it happened.
      for (const connection of connections.values()) connection.sessionChange(change)
      if (change.type === 'removed') endMirror(change.key)
    } catch (err) {
      log.error({ err, change: change.type }, 'live channel failed to follow a session change')
    }
  })

  const silent = keepalive(KEEPALIVE_INTERVAL_MS)

  function accept(socket: WebSocket, watchOnly: boolean): void {
    const viewer = new Viewer(`v-${randomBytes(8).toString('hex')}`, socket)
    const connection = new Connection(hub, viewer, watchOnly)
    connections.set(viewer.id, connection)
    gates.set(viewer.id, new InputGate(socket))
    silent.watch(socket)
    socket.on('message', (data, isBinary) => connection.message(toBuffer(data), isBinary))
    socket.on('error', (err) => log.debug({ err, viewer: viewer.id }, 'live socket error'))
    socket.on('close', () => {
      connections.delete(viewer.id)
      gates.get(viewer.id)?.stop()
      gates.delete(viewer.id)
      connection.closed()
    })
    viewer.send({ type: 'welcome', viewerId: viewer.id, version: opts.version } satisfies ServerFrame)
  }

  let closing = false
  return {
    handleUpgrade(req, socket, head, url) {
      if (url.pathname !== LIVE_PATH) return false
      if (closing) {
        socket.destroy()
        return true
      }
      if (connections.size >= MAX_LIVE_SOCKETS) {
        rejectUpgrade(
          socket,
          new HttpError(
            503,
            'unavailable',
            `the daemon already serves ${MAX_LIVE_SOCKETS} live sockets, the most it takes; close one and retry`,
          ),
        )
        return true
      }
      // Anything but the root token or a `full` device only watches (docs/daemon.md, "Devices").
      const watchOnly = principalOf(req)?.scope !== 'full'
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, watchOnly))
      return true
    },
    snapshot(key) {
      const entry = mirrors.get(key)
      // No viewer waits for a save: a background cut (screen-host.ts ScreenPort.cut).
      return entry ? new Promise<Snapshot>((resolve) => entry.mirror.cut(resolve, { background: true })) : Promise.resolve(null)
    },
    prefill(key, data) {
      mirrors.get(key)?.mirror.write(data)
    },
    async close() {
      if (closing) return
      closing = true
      silent.stop()
      stopChanges()
      for (const socket of wss.clients) socket.close(1001, 'daemon shutting down')
      // A viewer that stopped reading never completes the closing handshake: give the others a
      // moment to, then cut whatever is left.
      const allClosed = new Promise<void>((resolve) => wss.close(() => resolve()))
      await Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())])
      for (const socket of wss.clients) socket.terminate()
      for (const key of [...mirrors.keys()]) endMirror(key)
      await screenHost.close()
    },
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

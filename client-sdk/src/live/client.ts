/**
 * The SDK side of the live channel: one socket per client, multiplexing every watched workspace
 * and attached terminal, reconnecting by itself with jittered backoff. After each reconnect it
 * says hello again, re-watches every workspace (each watcher gets a fresh full set) and
 * re-attaches every live handle (each gets a reset plus a fresh snapshot).
 */
import { BINARY_SNAPSHOT, LIVE_PATH, decodeBinaryFrame, wsProtocols, type ClientFrame, type ServerFrame } from '@tabula/protocol'
import { Reconnector } from '../backoff.js'
import { toWebSocketUrl } from '../urls.js'
import { Listeners } from '@tabula/protocol'
import { Terminal } from './terminal.js'
import type {
  AttachOptions,
  ConnectionState,
  Disposable,
  LiveClient,
  LiveClientOptions,
  LiveError,
  TerminalHandle,
  WorkspaceWatcher,
} from './types.js'

/**
 * The client pings this often and gives the socket up when nothing at all arrived for two
 * intervals: a phone switching networks otherwise keeps a dead socket open for minutes.
 */
export const CLIENT_KEEPALIVE_MS = 20_000

/** The subset of the WHATWG WebSocket this client uses (browsers, undici and `ws` all have it). */
interface SocketLike {
  binaryType: string
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
}
type SocketConstructor = new (url: string, protocols: string[]) => SocketLike

const OPEN = 1

/** Throws a TypeError at once when no WebSocket class is given and the platform has none. */
export function createLiveClient(opts: LiveClientOptions): LiveClient {
  return new Client({ ...opts, WebSocket: resolveWebSocket(opts.WebSocket) })
}

class Client implements LiveClient {
  viewerId: string | null = null
  state: ConnectionState = 'connecting'
  private socket: SocketLike | null = null
  private readonly reconnect = new Reconnector(() => void this.connect())
  private keepalive: ReturnType<typeof setInterval> | null = null
  private heard = true
  private finished = false
  private readonly stateListeners = new Listeners<[ConnectionState]>()
  private readonly watchers = new Map<string, Set<WorkspaceWatcher>>()
  private readonly handles = new Map<number, Terminal>()
  private nextCh = 1
  private closedSignal: (() => void) | null = null

  constructor(private readonly opts: LiveClientOptions) {
    void this.connect()
  }

  onState(listener: (state: ConnectionState) => void): Disposable {
    return this.stateListeners.add(listener)
  }

  watch(workspace: string, watcher: WorkspaceWatcher): Disposable {
    let set = this.watchers.get(workspace)
    if (!set) this.watchers.set(workspace, (set = new Set()))
    set.add(watcher)
    if (this.state === 'open') this.send({ type: 'watch', workspace })
    return {
      dispose: () => {
        const current = this.watchers.get(workspace)
        if (!current?.delete(watcher) || current.size > 0) return
        this.watchers.delete(workspace)
        if (this.state === 'open') this.send({ type: 'unwatch', workspace })
      },
    }
  }

  attach(key: string, options: AttachOptions = {}): TerminalHandle {
    const handle = new Terminal(key, this.nextCh++, this.handleHost, () => this.viewerId, options.screenFirst === true)
    this.handles.set(handle.ch, handle)
    if (this.state === 'open') handle.reattach()
    return handle
  }

  async close(): Promise<void> {
    if (this.finished) return
    this.finished = true
    this.reconnect.cancel()
    this.stopKeepalive()
    const socket = this.socket
    if (socket && socket.readyState <= OPEN) {
      const closed = new Promise<void>((resolve) => (this.closedSignal = resolve))
      socket.close(1000, 'client closed')
      // A peer that never answers the close must not hold the caller forever.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))])
    }
    this.socket = null
    for (const handle of this.handles.values()) handle.disconnected()
    this.setState('closed')
  }

  // ── connection ──────────────────────────────────────────────────────────────────────────────

  private readonly handleHost = {
    send: (frame: ClientFrame) => this.send(frame),
    release: (handle: Terminal) => void this.handles.delete(handle.ch),
  }

  private send(frame: ClientFrame): boolean {
    const socket = this.socket
    if (!socket || socket.readyState !== OPEN || this.state !== 'open') return false
    socket.send(JSON.stringify(frame))
    return true
  }

  private async connect(): Promise<void> {
    let socket: SocketLike
    try {
      const Ctor = this.opts.WebSocket as SocketConstructor
      if (this.finished) return
      socket = new Ctor(liveUrl(this.opts.daemonUrl), wsProtocols(this.opts.token))
    } catch (err) {
      this.report({ code: 'connect_failed', message: (err as Error).message })
      return this.scheduleReconnect()
    }
    this.socket = socket
    socket.binaryType = 'arraybuffer'
    socket.onmessage = (event) => {
      if (this.socket !== socket) return
      this.heard = true
      this.receive(event.data)
    }
    socket.onclose = () => this.dropped(socket)
    socket.onerror = () => {
      /* a close event follows; reconnecting happens there */
    }
  }

  private dropped(socket: SocketLike): void {
    if (this.socket !== socket) return
    this.socket = null
    this.stopKeepalive()
    for (const handle of this.handles.values()) handle.disconnected()
    if (this.finished) {
      this.closedSignal?.()
      return
    }
    this.setState('connecting')
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.finished) return
    this.setState('connecting')
    this.reconnect.schedule()
  }

  /** The socket went silent: stop waiting for its close and start over. */
  private abandon(): void {
    const socket = this.socket
    if (!socket) return
    this.dropped(socket)
    try {
      socket.close()
    } catch {
      /* already closing */
    }
  }

  private startKeepalive(): void {
    this.stopKeepalive()
    this.heard = true
    this.keepalive = setInterval(() => {
      if (!this.heard) return this.abandon()
      this.heard = false
      this.send({ type: 'ping' })
    }, CLIENT_KEEPALIVE_MS)
    // In Node, an idle client must not keep the process alive.
    ;(this.keepalive as { unref?: () => void }).unref?.()
  }

  private stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive)
    this.keepalive = null
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return
    this.state = state
    this.stateListeners.emit(state)
  }

  // ── frames ──────────────────────────────────────────────────────────────────────────────────

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
            : null
      const frame = bytes && decodeBinaryFrame(bytes)
      const handle = frame && this.handles.get(frame.ch)
      if (!handle) return
      if (frame.kind === BINARY_SNAPSHOT) handle.snapshotFrame(frame.data)
      else handle.output(frame.data)
      return
    }
    let frame: ServerFrame
    try {
      frame = JSON.parse(data) as ServerFrame
    } catch {
      return this.report({ code: 'invalid_json', message: 'the daemon sent a frame that is not JSON' })
    }
    this.dispatch(frame)
  }

  private dispatch(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.viewerId = frame.viewerId
        this.reconnect.succeeded()
        this.setState('open')
        this.startKeepalive()
        if (this.opts.viewer) this.send({ type: 'hello', viewer: this.opts.viewer })
        for (const workspace of this.watchers.keys()) this.send({ type: 'watch', workspace })
        for (const handle of this.handles.values()) handle.reattach()
        return
      case 'sessions':
        return this.eachWatcher(frame.workspace, (w) => w.onSessions(frame.seq, frame.sessions))
      case 'session_added':
        return this.eachWatcher(frame.workspace, (w) => w.onAdded(frame.seq, frame.session))
      case 'session_removed':
        return this.eachWatcher(frame.workspace, (w) => w.onRemoved(frame.seq, frame.key))
      case 'session_updated':
        return this.eachWatcher(frame.workspace, (w) => w.onUpdated(frame.seq, frame.session))
      // Every attach asks for binary snapshots: the snapshot is the binary frame that follows.
      case 'attached':
        return this.handles.get(frame.ch)?.awaitSnapshot(frame.cols, frame.rows, frame.activeViewer, 'attached')
      case 'resync': {
        const handle = this.handles.get(frame.ch)
        return handle?.awaitSnapshot(
          frame.cols,
          frame.rows,
          handle.size?.activeViewer ?? null,
          frame.reason === 'history' ? 'history' : 'resync',
        )
      }
      case 'size':
        return this.handles.get(frame.ch)?.sized({ cols: frame.cols, rows: frame.rows, activeViewer: frame.activeViewer })
      case 'resize_ignored': {
        const handle = this.handles.get(frame.ch)
        if (handle?.size) handle.sized({ ...handle.size, activeViewer: frame.activeViewer })
        return
      }
      case 'exit':
        return this.handles.get(frame.ch)?.exited(frame.exitCode)
      case 'detached':
        // 'detached' answers our own detach; the handle is already gone then.
        if (frame.reason !== 'detached') this.handles.get(frame.ch)?.closed(frame.reason)
        return
      case 'pong':
        return
      case 'error': {
        const error: LiveError = { code: frame.code, message: frame.message }
        if (frame.ch !== undefined) error.ch = frame.ch
        if (frame.workspace !== undefined) {
          error.workspace = frame.workspace
          this.eachWatcher(frame.workspace, (w) => w.onError?.(error))
        }
        return this.report(error)
      }
    }
  }

  private eachWatcher(workspace: string, call: (watcher: WorkspaceWatcher) => void): void {
    for (const watcher of [...(this.watchers.get(workspace) ?? [])]) call(watcher)
  }

  private report(error: LiveError): void {
    this.opts.onError?.(error)
  }
}

/** `http://host:port` → `ws://host:port/v1/live` (https → wss), as the sync channel builds `/sync`. */
export function liveUrl(daemonUrl: string): string {
  return toWebSocketUrl(daemonUrl) + LIVE_PATH
}

/**
 * The socket class: the one given, else the platform's. No fallback import of `ws` here, so no
 * bundle of the SDK carries a Node-only module; the Node entry passes `ws` itself.
 */
function resolveWebSocket(given: unknown): SocketConstructor {
  const Ctor = given ?? (globalThis as { WebSocket?: unknown }).WebSocket
  if (!Ctor) throw new TypeError('no WebSocket available: pass the WebSocket option (in Node 20, `import { WebSocket } from "ws"`)')
  return Ctor as SocketConstructor
}

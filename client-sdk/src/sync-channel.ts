/**
 * The layout document's connection to the sync server: the stock y-websocket provider, with
 * its reconnects driven here. The provider's own retry is exponential but not jittered, so a
 * server restart under many viewers would bring them all back in the same instant. Each time
 * the socket closes, the provider's pending retry is disarmed (shouldConnect = false makes it a
 * no-op) and a jittered one (full jitter, see backoff.ts) is scheduled instead.
 */
import { SYNC_PATH, wsProtocols } from '@tabula/protocol'
import { WebsocketProvider } from 'y-websocket'
import { readAuthMessage } from 'y-protocols/auth'
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { Reconnector } from './backoff.js'
import type { WebSocketConstructor } from './api.js'
import { toWebSocketUrl } from './urls.js'

/** y-protocols' auth message type; its one kind today is "permission denied", with a reason. */
const MESSAGE_AUTH = 2
/** The sync server closes with this when an update would take the document past its size bound. */
const CLOSE_TOO_BIG = 1009

export interface SyncChannelOptions {
  syncUrl: string
  workspaceId: string
  token: string
  WebSocket: WebSocketConstructor
  onStateChange: () => void
  /** The server refused something this viewer sent, and said why (docs/sync.md, "Refusals"). */
  onRefused?: (reason: string) => void
  /** Test seam: the wait before reconnect attempt n (default: jittered backoff, backoff.ts). */
  reconnectDelay?: (attempt: number) => number
}

export class SyncChannel {
  readonly provider: WebsocketProvider
  #closed = false
  readonly #onStateChange: () => void
  readonly #reconnect: Reconnector

  constructor(doc: Y.Doc, options: SyncChannelOptions) {
    this.#onStateChange = options.onStateChange
    this.#reconnect = new Reconnector(() => {
      if (!this.#closed) this.provider.connect()
    }, options.reconnectDelay)
    this.provider = new WebsocketProvider(toWebSocketUrl(options.syncUrl) + SYNC_PATH, options.workspaceId, doc, {
      connect: false,
      protocols: wsProtocols(options.token),
      WebSocketPolyfill: options.WebSocket as unknown as typeof WebSocket,
      // Same-origin tabs must not bypass the server (and in Node lib0 would emulate the channel
      // in-process, joining viewers that are meant to be apart).
      disableBc: true,
    })
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') this.#reconnect.succeeded()
      this.#onStateChange()
    })
    this.provider.on('sync', () => this.#onStateChange())
    // The server's refusals (docs/sync.md, "Refusals"): y-protocols' permission denied, which the
    // stock provider only logs (and still does), and the close that refuses an update past the
    // size bound.
    const logDenied = this.provider.messageHandlers[MESSAGE_AUTH]!
    this.provider.messageHandlers[MESSAGE_AUTH] = (encoder, decoder, provider, emitSynced, type) => {
      const at = decoder.pos
      readAuthMessage(decoder, doc, (_doc, reason) => options.onRefused?.(reason))
      decoder.pos = at
      logDenied(encoder, decoder, provider, emitSynced, type)
    }
    this.provider.on('connection-close', (event) => {
      if (event?.code === CLOSE_TOO_BIG) options.onRefused?.(event.reason)
      this.#scheduleReconnect()
    })
    this.provider.connect()
  }

  get awareness(): Awareness {
    return this.provider.awareness
  }

  /** Open, and the first exchange of document state is done. */
  get online(): boolean {
    return this.provider.wsconnected && this.provider.synced
  }

  get connected(): boolean {
    return this.provider.wsconnected
  }

  close(): void {
    this.#closed = true
    this.#reconnect.cancel()
    this.provider.destroy()
  }

  #scheduleReconnect(): void {
    if (this.#closed) return
    // Disarm the provider's own (unjittered) retry; ours replaces it.
    this.provider.shouldConnect = false
    this.#reconnect.schedule()
    this.#onStateChange()
  }
}

/**
 * The layout document's connection to the sync server (docs/sdk.md, "Offline and reconnecting"):
 * the y-websocket protocol (y-protocols' sync, awareness and auth messages, docs/sync.md) spoken
 * on one WebSocket, reconnected on the SDK's jittered timer (backoff.ts) so that a server restart
 * under many viewers does not bring them all back in the same instant.
 *
 * It does what the stock y-websocket provider does for one socket, and no more: no
 * BroadcastChannel between same-origin tabs (they must not bypass the server), no URL
 * parameters, no retry of its own. That keeps the provider's Node and cross-tab code out of
 * every browser bundle (docs/performance.md, "Bundle size").
 */
import {
  CLOSE_TOO_BIG,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  SYNC_PATH,
  wsProtocols,
} from '@tabula/protocol'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { readAuthMessage } from 'y-protocols/auth'
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import { messageYjsSyncStep2, readSyncMessage, writeSyncStep1, writeUpdate } from 'y-protocols/sync'
import type * as Y from 'yjs'
import type { WebSocketConstructor } from './api.js'
import { Reconnector } from './backoff.js'
import { toWebSocketUrl } from './urls.js'

/**
 * A connection that brought no message for this long is taken for dead and reopened (the stock
 * provider's figure: every peer renews its presence twice in that time).
 */
const SILENCE_LIMIT_MS = 30_000

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
  readonly awareness: Awareness
  readonly #doc: Y.Doc
  readonly #options: SyncChannelOptions
  readonly #url: string
  readonly #reconnect: Reconnector
  readonly #silenceCheck: ReturnType<typeof setInterval>
  #socket: WebSocket | null = null
  #connected = false
  #synced = false
  #closed = false
  #lastHeard = 0

  constructor(doc: Y.Doc, options: SyncChannelOptions) {
    this.#doc = doc
    this.#options = options
    this.#url = `${toWebSocketUrl(options.syncUrl)}${SYNC_PATH}/${options.workspaceId}`
    this.awareness = new Awareness(doc)
    this.#reconnect = new Reconnector(() => this.#connect(), options.reconnectDelay)
    doc.on('update', this.#onDocUpdate)
    this.awareness.on('update', this.#onAwarenessUpdate)
    this.#silenceCheck = setInterval(() => {
      if (this.#connected && Date.now() - this.#lastHeard > SILENCE_LIMIT_MS) this.#drop(this.#socket!, null)
    }, SILENCE_LIMIT_MS / 10)
    this.#connect()
  }

  /** Open, and the first exchange of document state is done. */
  get online(): boolean {
    return this.#connected && this.#synced
  }

  get connected(): boolean {
    return this.#connected
  }

  /** Tells the others this viewer has left, and closes for good. */
  close(): void {
    this.#closed = true
    this.#reconnect.cancel()
    clearInterval(this.#silenceCheck)
    this.#sendAwareness(encodeAwarenessUpdate(this.awareness, [this.#doc.clientID], new Map()))
    this.#doc.off('update', this.#onDocUpdate)
    this.awareness.off('update', this.#onAwarenessUpdate)
    if (this.#socket) this.#drop(this.#socket, null)
  }

  #connect(): void {
    if (this.#closed || this.#socket) return
    const socket = new this.#options.WebSocket(this.#url, wsProtocols(this.#options.token))
    socket.binaryType = 'arraybuffer'
    this.#socket = socket
    socket.onopen = () => {
      this.#lastHeard = Date.now()
      this.#connected = true
      this.#reconnect.succeeded()
      this.#options.onStateChange()
      socket.send(message(MESSAGE_SYNC, (encoder) => writeSyncStep1(encoder, this.#doc)))
      if (this.awareness.getLocalState() !== null) {
        this.#sendAwareness(encodeAwarenessUpdate(this.awareness, [this.#doc.clientID]))
      }
    }
    socket.onmessage = (event) => {
      this.#lastHeard = Date.now()
      const reply = this.#receive(new Uint8Array(event.data as ArrayBuffer))
      if (encoding.length(reply) > 1) socket.send(encoding.toUint8Array(reply))
    }
    // A failed socket also closes; the close is what counts. (Node's ws throws an error event
    // that nobody listens to.)
    socket.onerror = () => {}
    socket.onclose = (event) => this.#drop(socket, event)
  }

  /** Reads one message of the server's; what it returns is sent back when it holds more than its type. */
  #receive(data: Uint8Array): encoding.Encoder {
    const decoder = decoding.createDecoder(data)
    const reply = encoding.createEncoder()
    const type = decoding.readVarUint(decoder)
    if (type === MESSAGE_SYNC) {
      encoding.writeVarUint(reply, MESSAGE_SYNC)
      if (readSyncMessage(decoder, reply, this.#doc, this) === messageYjsSyncStep2 && !this.#synced) {
        this.#synced = true
        this.#options.onStateChange()
      }
    } else if (type === MESSAGE_AWARENESS) {
      applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this)
    } else if (type === MESSAGE_QUERY_AWARENESS) {
      encoding.writeVarUint(reply, MESSAGE_AWARENESS)
      encoding.writeVarUint8Array(reply, encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]))
    } else if (type === MESSAGE_AUTH) {
      readAuthMessage(decoder, this.#doc, (_doc, reason) => {
        // The stock provider's console line, kept for those who read the console (docs/sync.md, "Refusals").
        console.warn(`Permission denied to access ${this.#url}.\n${reason}`)
        this.#options.onRefused?.(reason)
      })
    }
    return reply
  }

  /** The socket closed (or is taken for dead): everyone else's presence goes with it; a retry is scheduled. */
  #drop(socket: WebSocket, event: { code: number; reason: string } | null): void {
    if (socket !== this.#socket) return
    this.#socket = null
    socket.close()
    if (event?.code === CLOSE_TOO_BIG) this.#options.onRefused?.(event.reason)
    if (this.#connected) {
      this.#connected = false
      this.#synced = false
      const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.#doc.clientID)
      removeAwarenessStates(this.awareness, others, this)
    }
    if (this.#closed) return
    this.#reconnect.schedule()
    this.#options.onStateChange()
  }

  /** Local edits go to the server; what came from the server does not go back. */
  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin !== this) this.#send(message(MESSAGE_SYNC, (encoder) => writeUpdate(encoder, update)))
  }

  readonly #onAwarenessUpdate = (change: { added: number[]; updated: number[]; removed: number[] }): void => {
    this.#sendAwareness(encodeAwarenessUpdate(this.awareness, [...change.added, ...change.updated, ...change.removed]))
  }

  #sendAwareness(update: Uint8Array): void {
    this.#send(message(MESSAGE_AWARENESS, (encoder) => encoding.writeVarUint8Array(encoder, update)))
  }

  #send(data: Uint8Array): void {
    if (this.#connected && this.#socket?.readyState === 1) this.#socket.send(data)
  }
}

/** One message: its type, then what `write` puts after it. */
function message(type: number, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, type)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

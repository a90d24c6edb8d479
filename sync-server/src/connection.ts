/**
 * One sync connection: the WebSocket as a Peer of its room. Messages are decoded and validated
 * in full before the room sees them (messages.ts), held until the room is loaded, and a
 * connection that breaks the protocol or cannot keep up is closed with the reason
 * (docs/sync.md, "Bounds").
 */
import type { WebSocket, RawData } from 'ws'
import type { Logger } from '@tabula/server-kit'
import { CLOSE_TRY_AGAIN } from '@tabula/protocol'
import type { Peer } from './room.js'
import type { RoomLease } from './registry.js'
import { decodeClientMessage, encodePermissionDenied, isEmptyUpdate, MalformedMessage, type ClientMessage } from './messages.js'

/**
 * Bytes a connection may have queued unsent before it is cut. A slow client must not make the
 * server buffer without bound; cut, it reconnects and resyncs from the document.
 */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024

/** Told to a watch-only device each time it sends a change (the stock provider logs it). */
const WATCH_ONLY_REASON = 'this device can only watch: layout changes are refused (pair it without --watch-only to edit)'

/** A close reason must fit in 123 bytes. */
const MAX_CLOSE_REASON = 120

export interface ConnectionOptions {
  log: Logger
  /** A watch-only device reads the document and shares presence, but changes nothing. */
  watchOnly: boolean
  /** Called once, when the socket has closed and the lease is released. */
  onClose(): void
}

/** Serves `ws` on the leased room until it closes; the lease is released then. */
export function serveConnection(ws: WebSocket, lease: RoomLease, opts: ConnectionOptions): void {
  const { room } = lease
  const { log } = opts
  // Until the room's document is loaded the socket is not read (TCP pushes back on the client):
  // only what ws had already read when it paused waits here, not whatever a client sends during
  // a slow load (docs/sync.md, "Bounds").
  const queue: Array<{ data: RawData; isBinary: boolean }> = []
  let attached = false
  let gone = false
  ws.pause()

  const peer: Peer = {
    send(data) {
      if (ws.readyState !== ws.OPEN) return
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        cut(CLOSE_TRY_AGAIN, `more than ${MAX_BUFFERED_BYTES} bytes queued for a slow connection`)
        return
      }
      ws.send(data)
    },
    close(code, reason) {
      ws.close(code, reason)
    },
  }

  function cut(code: number, reason: string): void {
    log.warn({ workspace: room.name, reason }, 'closing a sync connection')
    ws.close(code, reason.slice(0, MAX_CLOSE_REASON))
  }

  function handle(data: RawData, isBinary: boolean): void {
    if (!isBinary) return cut(1003, 'text frames are not part of the protocol')
    let message: ClientMessage
    try {
      message = decodeClientMessage(toBytes(data))
    } catch (err) {
      return cut(1007, err instanceof MalformedMessage ? err.message : 'malformed message')
    }
    // docs/daemon.md, "Devices". Its answer to sync step 1 is usually empty; only a real change
    // is refused, and said so.
    if (opts.watchOnly && message.type === 'sync-update') {
      if (!isEmptyUpdate(message.update)) peer.send(encodePermissionDenied(WATCH_ONLY_REASON))
      return
    }
    room.receive(peer, message)
  }

  ws.on('error', (err) => log.warn({ workspace: room.name, reason: err.message }, 'sync connection error'))
  ws.on('message', (data, isBinary) => {
    if (!attached) queue.push({ data, isBinary })
    else handle(data, isBinary)
  })
  ws.on('close', () => {
    gone = true
    if (attached) room.detach(peer)
    lease.release()
    opts.onClose()
  })
  room.ready.then(
    () => {
      if (gone) return
      attached = true
      room.attach(peer)
      for (const { data, isBinary } of queue.splice(0)) handle(data, isBinary)
      ws.resume()
    },
    () => {
      ws.resume() // so the close handshake is read
      ws.close(1011, 'the layout document cannot be loaded; see the server log')
    },
  )
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data))
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

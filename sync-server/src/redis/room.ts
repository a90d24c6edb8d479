/**
 * A room served from Redis. The instance keeps no document: it reads the document from Redis to
 * answer a connection's sync, appends every update to the room's stream before anything relays
 * it, and relays what the stream's channel delivers (its own updates included) to its own
 * connections. Presence is shared through the same channel. See docs/sync.md, "Many instances on
 * Redis".
 */
import * as Y from 'yjs'
import type { Logger } from '@tabula/server-kit'
import {
  decodeClientMessage,
  encodeAwareness,
  encodePermissionDenied,
  isEmptyUpdate,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type AwarenessEntry,
  type ClientMessage,
} from '../messages.js'
import { Presence, inMessages } from '../presence.js'
import { CLOSE_TRY_AGAIN, MAX_LAYOUT_DOC_BYTES } from '@tabula/protocol'
import { CLOSE_TOO_BIG, sizeRefusal, TOO_BIG_REASON } from '../doc-size.js'
import type { Peer } from '../room.js'
import type { LoadedRoom } from '../rooms.js'
import { BUS_AWARENESS, BUS_QUERY_AWARENESS, BUS_UPDATE, type BusMessage, type RedisBackend } from './backend.js'

/**
 * Bytes of messages one connection may have waiting for Redis. Messages of a connection are
 * handled in order, each update only once Redis has it; a connection that keeps sending while
 * Redis is slow is cut (it reconnects and resyncs) rather than queued without bound.
 */
export const MAX_PENDING_BYTES = 16 * 1024 * 1024

interface PeerState {
  /** This connection's id on the bus, so its own updates are not echoed back to it. */
  conn: number
  /** Its messages, handled one after another. */
  chain: Promise<void>
  pendingBytes: number
  /** The document read to greet it, kept for its first sync step 1 (which follows at once). */
  greeting: Y.Doc | null
  /** Set once it failed (Redis unreachable) and was closed: nothing more of it is acted on. */
  dead: boolean
}

export class RedisRoom implements LoadedRoom {
  readonly ready: Promise<void>
  private readonly peers = new Map<Peer, PeerState>()
  /** Presence of this instance's connections (keyed by Peer) and of other instances' (keyed by instance id). */
  private presence = new Presence<Peer | string>()
  private readonly appends = new Set<Promise<void>>()
  /** Whether this instance appended since it opened the room (then it compacts when it lets go). */
  private appended = false
  private readonly fromBusHandler = (message: BusMessage) => this.fromBus(message)

  constructor(
    readonly name: string,
    private readonly backend: RedisBackend,
    private readonly log: Logger,
    private readonly nextConn: () => number,
    /** Told when the room lets go (close) or could not open. */
    private readonly onGone: (room: RedisRoom) => void,
  ) {
    this.ready = this.open()
    this.ready.catch(() => onGone(this))
  }

  private async open(): Promise<void> {
    await this.backend.subscribe(this.name, this.fromBusHandler)
    // Instances already serving the room answer with their presence, so newcomers here see everyone.
    this.publish(BUS_QUERY_AWARENESS, 0, new Uint8Array(0))
  }

  attach(peer: Peer): void {
    const state: PeerState = { conn: this.nextConn(), chain: Promise.resolve(), pendingBytes: 0, greeting: null, dead: false }
    // Added before the document is read: an update appended after the read is relayed to it, one
    // appended before is in what it reads. Either way nothing falls between.
    this.peers.set(peer, state)
    this.enqueue(peer, state, 0, async () => {
      state.greeting = await this.backend.load(this.name)
      peer.send(encodeSyncStep1(state.greeting))
      // Greeted in bounded messages, as by the in-process room (presence.ts).
      for (const message of inMessages(this.presence.all(), encodeAwareness)) peer.send(message)
    })
  }

  detach(peer: Peer): void {
    const state = this.peers.get(peer)
    if (!state) return
    this.peers.delete(peer)
    state.dead = true
    state.greeting?.destroy()
    state.greeting = null
    const removals = this.presence.drop(peer)
    if (removals.length > 0) this.shareAwareness(removals, 0)
  }

  receive(peer: Peer, message: ClientMessage): boolean {
    const state = this.peers.get(peer)
    if (!state || state.dead) return false
    const bytes = message.type === 'sync-update' ? message.update.length : message.type === 'sync-step1' ? message.stateVector.length : 64
    this.enqueue(peer, state, bytes, () => this.handle(peer, state, message))
    return true
  }

  private enqueue(peer: Peer, state: PeerState, bytes: number, run: () => Promise<void>): void {
    if (state.pendingBytes + bytes > MAX_PENDING_BYTES) {
      this.fail(peer, state, `more than ${MAX_PENDING_BYTES} bytes waiting for redis`)
      return
    }
    state.pendingBytes += bytes
    state.chain = state.chain.then(async () => {
      try {
        if (!state.dead) await run()
      } catch (err) {
        this.fail(peer, state, (err as Error).message)
      } finally {
        state.pendingBytes -= bytes
      }
    })
  }

  /** Closes a connection whose message could not be handled; its client reconnects and resyncs. */
  private fail(peer: Peer, state: PeerState, reason: string): void {
    if (state.dead) return
    state.dead = true
    this.log.warn({ workspace: this.name, reason }, 'closing a sync connection: the layout store did not answer')
    peer.close(CLOSE_TRY_AGAIN, 'the layout store is unavailable; reconnect to resync')
  }

  private async handle(peer: Peer, state: PeerState, message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'sync-step1': {
        const doc = state.greeting ?? (await this.backend.load(this.name))
        state.greeting = null
        try {
          if (!state.dead) peer.send(encodeSyncStep2(doc, message.stateVector))
        } finally {
          doc.destroy()
        }
        return
      }
      case 'sync-update': {
        if (isEmptyUpdate(message.update)) return
        // The size bound is checked by Redis as it appends (backend.ts, APPEND_SCRIPT), so it holds
        // across every instance. Refused whole, before it reaches the stream, as by the in-process room.
        if (await this.append(state.conn, message.update, MAX_LAYOUT_DOC_BYTES)) return
        this.log.warn({ workspace: this.name, bytes: message.update.length }, sizeRefusal(this.name, message.update.length))
        state.dead = true
        peer.close(CLOSE_TOO_BIG, TOO_BIG_REASON)
        return
      }
      case 'awareness': {
        const changed = this.presence.apply(peer, message.entries, (reason) => peer.send(encodePermissionDenied(reason)))
        if (changed.length > 0) this.shareAwareness(changed, state.conn)
        return
      }
      case 'query-awareness': {
        const messages = inMessages(this.presence.all(), encodeAwareness)
        for (const message of messages.length > 0 ? messages : [encodeAwareness([])]) peer.send(message)
        return
      }
    }
  }

  /**
   * In Redis before anyone is told: the channel relays it (to this instance too) once it is in
   * the stream. False (nothing appended) when it could take the document past `limit` bytes.
   */
  private async append(conn: number, update: Uint8Array, limit: number): Promise<boolean> {
    this.appended = true
    const appending = this.backend.append(this.name, conn, update, limit)
    const settled = appending.then(() => {})
    // flush() reports a failed append; until someone flushes, the failure is this call's own
    // (awaited below), not an unhandled rejection that would end the process.
    settled.catch(() => {})
    this.appends.add(settled)
    try {
      return await appending
    } finally {
      this.appends.delete(settled)
    }
  }

  private fromBus(message: BusMessage): void {
    const own = message.instance === this.backend.instanceHex
    switch (message.kind) {
      case BUS_UPDATE: {
        const frame = encodeSyncUpdate(message.payload)
        for (const [peer, state] of this.peers) if (!(own && state.conn === message.conn)) peer.send(frame)
        return
      }
      case BUS_AWARENESS: {
        if (own) return
        let entries: AwarenessEntry[]
        try {
          const decoded = decodeClientMessage(message.payload)
          if (decoded.type !== 'awareness') return
          entries = decoded.entries
        } catch {
          return // only instances write here, each from validated messages
        }
        const changed = this.presence.apply(message.instance, entries)
        if (changed.length > 0) this.broadcast(encodeAwareness(changed))
        return
      }
      case BUS_QUERY_AWARENESS: {
        if (own || this.peers.size === 0) return
        for (const message of inMessages(this.presence.all(), encodeAwareness)) this.publish(BUS_AWARENESS, 0, message)
        return
      }
    }
  }

  /** To every connection here (the sender included, as clients expect) and to the other instances. */
  private shareAwareness(entries: AwarenessEntry[], conn: number): void {
    const frame = encodeAwareness(entries)
    this.broadcast(frame)
    this.publish(BUS_AWARENESS, conn, frame)
  }

  private publish(kind: typeof BUS_AWARENESS | typeof BUS_QUERY_AWARENESS, conn: number, payload: Uint8Array): void {
    // Presence is not stored: a message lost while Redis is away is renewed by its client.
    this.backend
      .publish(this.name, kind, conn, payload)
      .catch((err: Error) => this.log.debug({ workspace: this.name, reason: err.message }, 'presence not shared'))
  }

  private broadcast(frame: Uint8Array): void {
    for (const peer of this.peers.keys()) peer.send(frame)
  }

  /** Redis went away: every connection is closed (each resyncs once it is back) and presence forgotten. */
  dropAll(): void {
    for (const [peer, state] of this.peers) this.fail(peer, state, 'redis is unreachable')
    this.presence = new Presence<Peer | string>()
  }

  async settled(): Promise<void> {}

  async edit(edit: (doc: Y.Doc) => boolean): Promise<boolean> {
    const doc = await this.backend.load(this.name)
    const effects: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => effects.push(u))
    try {
      const result = edit(doc)
      // A local writer (the migration) is not refused by the size bound, as in the in-process room.
      if (effects.length > 0) await this.append(0, effects.length === 1 ? effects[0]! : Y.mergeUpdates(effects), Number.MAX_SAFE_INTEGER)
      return result
    } finally {
      doc.destroy()
    }
  }

  async flush(): Promise<void> {
    await Promise.all([...this.appends])
  }

  async close(): Promise<void> {
    this.onGone(this)
    await Promise.allSettled([...this.appends])
    await this.backend.unsubscribe(this.name, this.fromBusHandler)
    if (this.appended) await this.backend.compact(this.name)
  }
}

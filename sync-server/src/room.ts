/**
 * One workspace's layout document while it is loaded: the Y.Doc, the connections that share it,
 * their presence, and the batching of writes to the store.
 */
import * as Y from 'yjs'
import type { Logger } from '@tabula/protocol/server'
import type { DocStore } from './store.js'
import { Presence } from './presence.js'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate, type ClientMessage } from './messages.js'

/**
 * Longest time an update waits in memory before it is written. Batching turns a burst of edits
 * (a drag that reorders twenty times) into one write; half a second keeps what a crash can lose
 * short enough that a person would not notice having to redo it.
 */
export const FLUSH_WINDOW_MS = 500

/** The side of a connection a room talks to (a WebSocket in the server, anything in tests). */
export interface Peer {
  send(data: Uint8Array): void
  close(code: number, reason: string): void
}

export class Room {
  doc: Y.Doc
  readonly peers = new Set<Peer>()
  /** Connections attached or about to be (counted before loading finishes, so an unload cannot race them). */
  refs = 0
  readonly ready: Promise<void>
  private presence = new Presence<Peer>()
  /** Updates applied since the last save began: with the stored state, they rebuild the document after a failed apply. */
  private unsaved: Uint8Array[] = []
  private changes = 0
  private savedChanges = 0
  private flushTimer: NodeJS.Timeout | null = null
  private flushing: Promise<void> = Promise.resolve()
  private closed = false

  constructor(
    readonly name: string,
    private readonly store: DocStore,
    private readonly log: Logger,
  ) {
    this.doc = new Y.Doc()
    this.ready = this.load()
  }

  private async load(): Promise<void> {
    const state = await this.store.load(this.name)
    if (state) Y.applyUpdateV2(this.doc, state, this)
  }

  get dirty(): boolean {
    return this.changes !== this.savedChanges
  }

  /** Greets a new connection: our state vector (so it sends what we lack) and who is here. */
  attach(peer: Peer): void {
    this.peers.add(peer)
    peer.send(encodeSyncStep1(this.doc))
    const present = this.presence.all()
    if (present.length > 0) peer.send(encodeAwareness(present))
  }

  detach(peer: Peer): void {
    if (!this.peers.delete(peer)) return
    const removals = this.presence.drop(peer)
    if (removals.length > 0) this.broadcast(encodeAwareness(removals), null)
  }

  /** Acts on one validated message from `peer`. Returns false when the document had to be reloaded. */
  receive(peer: Peer, message: ClientMessage): boolean {
    switch (message.type) {
      case 'sync-step1':
        peer.send(encodeSyncStep2(this.doc, message.stateVector))
        return true
      case 'sync-update':
        return this.applyUpdate(peer, message.update)
      case 'awareness': {
        const changed = this.presence.apply(peer, message.entries)
        // Sent to everyone, the sender included, as the reference server does: clients count
        // their own renewals as a sign the connection is alive.
        if (changed.length > 0) this.broadcast(encodeAwareness(changed), null)
        return true
      }
      case 'query-awareness':
        peer.send(encodeAwareness(this.presence.all()))
        return true
    }
  }

  /**
   * Applies a decoded update. What it changed is relayed only once the apply has finished, so
   * no peer ever sees half of an update; if Yjs throws anyway, the document is rebuilt from what
   * is known to be good and every peer resyncs.
   */
  applyUpdate(origin: Peer | null, update: Uint8Array): boolean {
    const effects: Uint8Array[] = []
    const collect = (u: Uint8Array) => effects.push(u)
    this.doc.on('update', collect)
    try {
      Y.applyUpdate(this.doc, update, origin)
    } catch (err) {
      this.log.error({ err, workspace: this.name }, 'an update failed to apply; reloading the document from the store')
      void this.rebuild()
      return false
    } finally {
      this.doc.off('update', collect)
    }
    if (effects.length === 0) return true // already known, or waiting for updates it depends on
    const merged = effects.length === 1 ? effects[0]! : Y.mergeUpdates(effects)
    this.unsaved.push(merged)
    this.broadcast(encodeSyncUpdate(merged), origin)
    this.changed()
    return true
  }

  /** For local writers (the migration): runs `edit` on the document and relays what it changed. */
  change(edit: (doc: Y.Doc) => void): void {
    const effects: Uint8Array[] = []
    const collect = (u: Uint8Array) => effects.push(u)
    this.doc.on('update', collect)
    try {
      edit(this.doc)
    } finally {
      this.doc.off('update', collect)
    }
    for (const u of effects) {
      this.unsaved.push(u)
      this.broadcast(encodeSyncUpdate(u), null)
    }
    if (effects.length > 0) this.changed()
  }

  private changed(): void {
    this.changes++
    if (!this.flushTimer && !this.closed) this.flushTimer = setTimeout(() => void this.flush().catch(() => {}), FLUSH_WINDOW_MS)
  }

  /**
   * Writes the merged state when anything changed since the last write. Writes are serialized;
   * a change that lands while one is in flight schedules the next.
   */
  flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer)
      this.flushTimer = null
    }
    this.flushing = this.flushing.then(async () => {
      if (!this.dirty) return
      const target = this.changes
      const pending = this.unsaved.length
      const state = Y.encodeStateAsUpdateV2(this.doc)
      try {
        await this.store.save(this.name, state)
      } catch (err) {
        this.log.error({ err, workspace: this.name }, 'saving the layout document failed; will retry')
        if (!this.flushTimer && !this.closed) this.flushTimer = setTimeout(() => void this.flush().catch(() => {}), FLUSH_WINDOW_MS)
        throw err
      }
      this.savedChanges = target
      this.unsaved.splice(0, pending)
      if (this.dirty && !this.flushTimer && !this.closed) {
        this.flushTimer = setTimeout(() => void this.flush().catch(() => {}), FLUSH_WINDOW_MS)
      }
    })
    return this.flushing
  }

  /**
   * After a failed apply the in-memory document may hold part of an update. It is replaced by
   * the stored state plus the updates that applied cleanly, saved, and every peer is closed so
   * it resyncs against the clean copy (the stock provider reconnects by itself).
   */
  private async rebuild(): Promise<void> {
    const good = [...this.unsaved]
    for (const peer of [...this.peers]) peer.close(1011, 'the document was reloaded; reconnect to resync')
    await this.flushing.catch(() => {})
    const fresh = new Y.Doc()
    const stored = await this.store.load(this.name)
    if (stored) Y.applyUpdateV2(fresh, stored)
    for (const u of good) Y.applyUpdate(fresh, u)
    this.doc.destroy()
    this.doc = fresh
    this.presence = new Presence<Peer>()
    this.unsaved = good
    this.changes++
    await this.flush()
  }

  private broadcast(data: Uint8Array, except: Peer | null): void {
    for (const peer of this.peers) if (peer !== except) peer.send(data)
  }

  /** Final flush; the room must not be used afterwards. */
  async close(): Promise<void> {
    this.closed = true
    await this.flush()
    this.doc.destroy()
  }
}

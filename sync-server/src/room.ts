/**
 * One workspace's layout document while it is loaded: the Y.Doc, the connections that share it,
 * their presence, and the batching of writes to the store.
 */
import * as Y from 'yjs'
import { backoffDelay, CLOSE_TRY_AGAIN } from '@tabula/protocol'
import type { Logger } from '@tabula/server-kit'
import type { DocStore } from './store.js'
import { Presence, inMessages } from './presence.js'
import { CLOSE_TOO_BIG, DocSize, TOO_BIG_REASON } from './doc-size.js'
import {
  encodeAwareness,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type ClientMessage,
} from './messages.js'

/**
 * Longest time an update waits in memory before it is written. Batching turns a burst of edits
 * (a drag that reorders twenty times) into one write; half a second keeps what a crash can lose
 * short enough that a person would not notice having to redo it.
 */
export const FLUSH_WINDOW_MS = 500

/**
 * First wait before trying again to reload a document after a failed apply, when reading the
 * store failed too; it doubles up to REBUILD_RETRY_MAX_MS. Meanwhile the room refuses peers,
 * so a broken store costs availability, never an edit written over a half-applied update.
 */
export const REBUILD_RETRY_BASE_MS = 100
export const REBUILD_RETRY_MAX_MS = 5_000

/** How an update is applied; a seam so tests can make an apply fail halfway. */
export type ApplyUpdate = (doc: Y.Doc, update: Uint8Array, origin: unknown) => void

/** The side of a connection a room talks to (a WebSocket in the server, anything in tests). */
export interface Peer {
  send(data: Uint8Array): void
  close(code: number, reason: string): void
}

export class Room {
  doc: Y.Doc
  readonly peers = new Set<Peer>()
  readonly ready: Promise<void>
  private presence = new Presence<Peer>()
  /** Updates applied since the last save began: with the stored state, they rebuild the document after a failed apply. */
  private unsaved: Uint8Array[] = []
  private changes = 0
  private savedChanges = 0
  private flushTimer: NodeJS.Timeout | null = null
  private flushing: Promise<void> = Promise.resolve()
  private closed = false
  /**
   * Set from the moment an apply fails until the clean copy has replaced the document and been
   * written. Until the swap the in-memory document may hold part of an update, so nothing is
   * written from it, no peer is attached to it and no update is applied to it: a peer arriving
   * meanwhile is closed and resyncs once the clean copy is in place (its edits are still in its
   * own replica, and the state-vector exchange sends them again).
   */
  private rebuilding: Promise<void> | null = null
  /** The in-memory document may hold half an update: never written (cleared at the swap). */
  private broken = false
  private wakeRebuild: (() => void) | null = null

  constructor(
    readonly name: string,
    private readonly store: DocStore,
    private readonly log: Logger,
    private readonly apply: ApplyUpdate = Y.applyUpdate,
  ) {
    this.docSize = new DocSize(name)
    this.doc = new Y.Doc()
    this.ready = this.load()
  }

  private async load(): Promise<void> {
    const state = await this.store.load(this.name)
    if (state) Y.applyUpdateV2(this.doc, state, this)
    this.docSize.measured(state?.length ?? 0)
  }

  /** The document's size bound (doc-size.ts). */
  private readonly docSize: DocSize

  get dirty(): boolean {
    return this.changes !== this.savedChanges
  }

  /** True while the document is being rebuilt after a failed apply (peers are refused). */
  get isRebuilding(): boolean {
    return this.rebuilding !== null
  }

  /** Resolves once no rebuild is in progress (local writers wait for the clean document). */
  async settled(): Promise<void> {
    while (this.rebuilding) await this.rebuilding.catch(() => {})
  }

  /** Greets a new connection: our state vector (so it sends what we lack) and who is here. */
  attach(peer: Peer): void {
    if (this.rebuilding) {
      // Greeted from the broken document, it would sync against state about to be thrown away,
      // and whatever it sent would be applied there and lost at the swap.
      peer.close(CLOSE_TRY_AGAIN, 'the document is being reloaded; reconnect to resync')
      return
    }
    this.peers.add(peer)
    peer.send(encodeSyncStep1(this.doc))
    for (const message of inMessages(this.presence.all(), encodeAwareness)) peer.send(message)
  }

  detach(peer: Peer): void {
    if (!this.peers.delete(peer)) return
    const removals = this.presence.drop(peer)
    if (removals.length > 0) this.broadcast(encodeAwareness(removals), null)
  }

  /**
   * Acts on one validated message from `peer`. Returns false when it was not acted on: the
   * document had to be reloaded, or is being reloaded, or the peer is no longer attached.
   */
  receive(peer: Peer, message: ClientMessage): boolean {
    // A peer closed by a rebuild (or refused during one) may still have messages in flight; the
    // document they were meant for is gone, and the peer resends what we lack when it reconnects.
    if (this.rebuilding || !this.peers.has(peer)) return false
    switch (message.type) {
      case 'sync-step1':
        peer.send(encodeSyncStep2(this.doc, message.stateVector))
        return true
      case 'sync-update':
        return this.applyUpdate(peer, message.update)
      case 'awareness': {
        const changed = this.presence.apply(peer, message.entries, (reason) => peer.send(encodePermissionDenied(reason)))
        // Sent to everyone, the sender included, as the reference server does: clients count
        // their own renewals as a sign the connection is alive.
        if (changed.length > 0) this.broadcast(encodeAwareness(changed), null)
        return true
      }
      case 'query-awareness': {
        const messages = inMessages(this.presence.all(), encodeAwareness)
        for (const message of messages.length > 0 ? messages : [encodeAwareness([])]) peer.send(message)
        return true
      }
    }
  }

  /**
   * Applies a decoded update. What it changed is relayed only once the apply has finished, so
   * no peer ever sees half of an update; if Yjs throws anyway, the document is rebuilt from what
   * is known to be good and every peer resyncs.
   */
  applyUpdate(origin: Peer | null, update: Uint8Array): boolean {
    const refusal = this.docSize.refusal(update.length, () => Y.encodeStateAsUpdateV2(this.doc).length)
    if (refusal) {
      // Refused whole, before any of it is applied; the client hears why in the close reason
      // (y-websocket has no error message), and the server's log says it too.
      this.log.warn({ workspace: this.name, bytes: update.length }, refusal)
      origin?.close(CLOSE_TOO_BIG, TOO_BIG_REASON)
      return false
    }
    let effects: Uint8Array[]
    try {
      effects = this.capture(() => this.apply(this.doc, update, origin))
    } catch (err) {
      this.log.error({ err, workspace: this.name }, 'an update failed to apply; reloading the document from the store')
      this.startRebuild()
      return false
    }
    if (effects.length === 0) return true // already known, or waiting for updates it depends on
    const merged = effects.length === 1 ? effects[0]! : Y.mergeUpdates(effects)
    this.docSize.grew(update.length)
    this.unsaved.push(merged)
    this.broadcast(encodeSyncUpdate(merged), origin)
    this.changed()
    return true
  }

  /** For local writers (the migration): runs `edit` on the document and relays what it changed. */
  change(edit: (doc: Y.Doc) => void): void {
    if (this.rebuilding) throw new Error(`${this.name}: the document is being rebuilt; await settled() first`)
    const effects = this.capture(() => edit(this.doc))
    for (const u of effects) {
      this.docSize.grew(u.length)
      this.unsaved.push(u)
      this.broadcast(encodeSyncUpdate(u), null)
    }
    if (effects.length > 0) this.changed()
  }

  /** Runs `run` and returns the updates it made to the document (stops listening even if it throws). */
  private capture(run: () => void): Uint8Array[] {
    const effects: Uint8Array[] = []
    const collect = (u: Uint8Array) => effects.push(u)
    this.doc.on('update', collect)
    try {
      run()
    } finally {
      this.doc.off('update', collect)
    }
    return effects
  }

  private changed(): void {
    this.changes++
    this.scheduleFlush()
  }

  /** Starts the flush timer unless one is pending or the room is closed. */
  private scheduleFlush(): void {
    if (!this.flushTimer && !this.closed) this.flushTimer = setTimeout(() => void this.flush().catch(() => {}), FLUSH_WINDOW_MS)
  }

  private cancelFlush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer)
      this.flushTimer = null
    }
  }

  /**
   * Writes the merged state when anything changed since the last write. Writes are serialized;
   * a change that lands while one is in flight schedules the next.
   */
  flush(): Promise<void> {
    this.cancelFlush()
    // Chained past a failure: a rejected `flushing` must not make every later write skip its
    // turn (a failed save is retried, and each caller still sees its own write's outcome).
    this.flushing = this.flushing
      .catch(() => {})
      .then(async () => {
        // Never write a document that may hold half an update; the rebuild saves the clean one.
        if (!this.dirty || this.broken) return
        const target = this.changes
        const pending = this.unsaved.length
        const state = Y.encodeStateAsUpdateV2(this.doc)
        // Measured now, not once the save returns: updates applied while it is in flight grow the
        // estimate from this size, and must still count when it returns (a slow disk).
        this.docSize.measured(state.length)
        try {
          await this.store.save(this.name, state)
        } catch (err) {
          this.log.error({ err, workspace: this.name }, 'saving the layout document failed; will retry')
          this.scheduleFlush()
          throw err
        }
        this.savedChanges = target
        this.unsaved.splice(0, pending)
        if (this.dirty) this.scheduleFlush()
      })
    return this.flushing
  }

  /** Starts the rebuild (once: a rebuild in progress already covers a second failure). */
  private startRebuild(): void {
    if (this.rebuilding) return
    this.broken = true
    this.cancelFlush()
    this.rebuilding = this.rebuild().finally(() => {
      this.rebuilding = null
    })
    this.rebuilding.catch(() => {}) // logged inside; close() and settled() wait on it
  }

  /**
   * After a failed apply the in-memory document may hold part of an update. It is replaced by
   * the stored state plus the updates that applied cleanly, saved, and every peer is closed so
   * it resyncs against the clean copy (the stock provider reconnects by itself). Until the swap,
   * peers are refused and nothing is applied or written (see `rebuilding`).
   */
  private async rebuild(): Promise<void> {
    const good = [...this.unsaved]
    const closing = [...this.peers]
    // Forgotten at once: the old presence goes with the old document, and a closed peer's
    // detach must not announce anything to peers that are closing too.
    this.peers.clear()
    for (const peer of closing) peer.close(1011, 'the document was reloaded; reconnect to resync')
    await this.flushing.catch(() => {})
    let fresh: Y.Doc | null = null
    for (let attempt = 0; fresh === null; attempt++) {
      try {
        const candidate = new Y.Doc()
        const stored = await this.store.load(this.name)
        if (stored) Y.applyUpdateV2(candidate, stored)
        for (const u of good) Y.applyUpdate(candidate, u)
        fresh = candidate
      } catch (err) {
        if (this.closed) throw err
        const wait = backoffDelay(attempt, REBUILD_RETRY_BASE_MS, REBUILD_RETRY_MAX_MS)
        this.log.error({ err, workspace: this.name, retryInMs: wait }, 'cannot reload the layout document; will retry')
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait)
          this.wakeRebuild = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        this.wakeRebuild = null
        if (this.closed) throw err
      }
    }
    this.doc.destroy()
    this.doc = fresh
    this.presence = new Presence<Peer>()
    this.unsaved = good
    this.changes++
    this.broken = false
    // Peers stay refused until the clean copy is on disk (or the write failed, logged and
    // retried by flush itself): a reconnect then finds what the store has.
    await this.flush().catch(() => {})
  }

  private broadcast(data: Uint8Array, except: Peer | null): void {
    for (const peer of this.peers) if (peer !== except) peer.send(data)
  }

  /** Final flush; the room must not be used afterwards. */
  async close(): Promise<void> {
    this.closed = true
    if (this.rebuilding) {
      this.wakeRebuild?.()
      // A rebuild that could not finish leaves only the broken document: what is stored stays.
      await this.rebuilding.catch(() => {})
    }
    if (!this.broken) await this.flush()
    this.doc.destroy()
  }
}

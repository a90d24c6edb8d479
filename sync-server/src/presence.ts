/**
 * Awareness (presence) for one room: who is connected and what they are looking at (docs/sync.md,
 * "Presence"). The server keeps the latest state per client only to greet newcomers and to announce
 * a client gone when its connection closes; it never interprets the states. Same acceptance rule as
 * y-protocols' Awareness: a newer clock wins, and at an equal clock a removal wins.
 */
import {
  MAX_PRESENCE_CLIENTS_PER_CONNECTION,
  MAX_PRESENCE_MESSAGE_BYTES,
  MAX_PRESENCE_ROOM_BYTES,
  MAX_PRESENCE_STATE_BYTES,
} from '@tabula/protocol'
import type { AwarenessEntry } from './messages.js'

const REMOVED = 'null'

/**
 * How long a removal is remembered. A tombstone only has to outlive late copies of the state it
 * removed (a message still in flight on another connection, a relay a moment behind), which
 * arrive within seconds; y-protocols itself drops a peer silent for 30 s. Without a bound, every
 * client id that ever came and went would stay in memory for the life of the room: a viewer that
 * reloads makes a new one each time.
 */
export const PRESENCE_TOMBSTONE_TTL_MS = 60_000

export class Presence<Conn> {
  private readonly states = new Map<number, { clock: number; state: string }>()
  /** When each tombstone was made, oldest first (Map keeps insertion order). */
  private readonly removedAt = new Map<number, number>()
  /** Which connection speaks for which client ids, so a closing connection can be cleaned up. */
  private readonly owners = new Map<Conn, Set<number>>()
  /** Bytes of the present states (MAX_PRESENCE_ROOM_BYTES). */
  private bytes = 0
  /** Entries refused by a bound since the room started (for tests and diagnostics). */
  refused = 0

  constructor(
    private readonly now: () => number = Date.now,
    private readonly tombstoneTtlMs = PRESENCE_TOMBSTONE_TTL_MS,
  ) {}

  /** Clients remembered, present or removed (for tests and diagnostics). */
  get size(): number {
    return this.states.size
  }

  /**
   * Applies entries from `conn`; returns the ones that changed something, to relay. When a bound
   * refused some, `refused` hears why, once per call (its connection is told: docs/sync.md,
   * "Bounds").
   */
  apply(conn: Conn, entries: AwarenessEntry[], refused?: (reason: string) => void): AwarenessEntry[] {
    this.forgetOldTombstones()
    const accepted: AwarenessEntry[] = []
    let refusal: { bound: string; count: number } | null = null
    for (const entry of entries) {
      const current = this.states.get(entry.clientId)
      const newer = !current || entry.clock > current.clock
      const removalAtSameClock = current && entry.clock === current.clock && entry.state === REMOVED && current.state !== REMOVED
      if (!newer && !removalAtSameClock) continue
      let owned = this.owners.get(conn)
      const bound = this.boundBroken(entry, current, owned)
      if (bound !== null) {
        this.refused++
        // A removal of a client never seen is dropped without a word: there is nothing to refuse.
        if (bound) refusal = refusal ? { bound: refusal.bound, count: refusal.count + 1 } : { bound, count: 1 }
        continue
      }
      this.setState(entry.clientId, entry.clock, entry.state)
      if (!owned) this.owners.set(conn, (owned = new Set()))
      if (entry.state === REMOVED) owned.delete(entry.clientId)
      else owned.add(entry.clientId)
      accepted.push(entry)
    }
    if (refusal && refused) {
      const what = refusal.count === 1 ? 'a presence state was' : `${refusal.count} presence states were`
      refused(`${what} refused and not shared: ${refusal.bound}`)
    }
    return accepted
  }

  /** Every present client, for a newcomer. */
  all(): AwarenessEntry[] {
    const entries: AwarenessEntry[] = []
    for (const [clientId, { clock, state }] of this.states) if (state !== REMOVED) entries.push({ clientId, clock, state })
    return entries
  }

  /** Forgets the clients `conn` spoke for; returns the removals to announce to the others. */
  drop(conn: Conn): AwarenessEntry[] {
    this.forgetOldTombstones()
    const owned = this.owners.get(conn)
    this.owners.delete(conn)
    const removals: AwarenessEntry[] = []
    for (const clientId of owned ?? []) {
      const current = this.states.get(clientId)
      if (!current || current.state === REMOVED) continue
      const clock = current.clock + 1
      // Kept as a tombstone with the bumped clock, so a late copy of the old state is refused.
      this.setState(clientId, clock, REMOVED)
      removals.push({ clientId, clock, state: REMOVED })
    }
    return removals
  }

  /**
   * The bounds (protocol/src/limits.ts): a state's size, the client ids one connection speaks
   * for, the bytes of a room's states. Null when the entry is within them, else which one it
   * breaks (the first it meets), in words for its client. A removal of a client never seen is
   * not kept either ('' : nothing to tell): it would only be a tombstone for an attacker to
   * multiply.
   */
  private boundBroken(entry: AwarenessEntry, current: { state: string } | undefined, owned: Set<number> | undefined): string | null {
    if (entry.state === REMOVED) return current !== undefined ? null : ''
    if (entry.state.length > MAX_PRESENCE_STATE_BYTES) return `a state may be at most ${MAX_PRESENCE_STATE_BYTES} bytes`
    if (!owned?.has(entry.clientId) && (owned?.size ?? 0) >= MAX_PRESENCE_CLIENTS_PER_CONNECTION) {
      return `a connection may speak for at most ${MAX_PRESENCE_CLIENTS_PER_CONNECTION} client ids`
    }
    const before = current && current.state !== REMOVED ? current.state.length : 0
    if (this.bytes - before + entry.state.length > MAX_PRESENCE_ROOM_BYTES) {
      return `the states of one workspace may take at most ${MAX_PRESENCE_ROOM_BYTES} bytes, and it is full`
    }
    return null
  }

  private setState(clientId: number, clock: number, state: string): void {
    const current = this.states.get(clientId)
    if (current && current.state !== REMOVED) this.bytes -= current.state.length
    if (state !== REMOVED) this.bytes += state.length
    this.states.set(clientId, { clock, state })
    // Re-inserted so removedAt stays in the order the tombstones were made.
    this.removedAt.delete(clientId)
    if (state === REMOVED) this.removedAt.set(clientId, this.now())
  }

  /** Drops tombstones older than the TTL; after that a late copy of the old state is no longer refused. */
  private forgetOldTombstones(): void {
    const cutoff = this.now() - this.tombstoneTtlMs
    for (const [clientId, at] of this.removedAt) {
      if (at > cutoff) break // the rest are younger
      this.removedAt.delete(clientId)
      this.states.delete(clientId)
    }
  }
}

/**
 * Presence entries as messages of at most MAX_PRESENCE_MESSAGE_BYTES each (one entry alone may
 * be larger only up to MAX_PRESENCE_STATE_BYTES): a newcomer is greeted with every present
 * client, and one message with all of them was more than a client could take.
 */
export function inMessages(entries: AwarenessEntry[], encode: (entries: AwarenessEntry[]) => Uint8Array): Uint8Array[] {
  const messages: Uint8Array[] = []
  let batch: AwarenessEntry[] = []
  let size = 0
  for (const entry of entries) {
    // An entry costs its state plus at most 3 varints of 5 bytes each.
    const cost = entry.state.length * 3 + 15 // UTF-16 length × 3 bounds its UTF-8 bytes
    if (batch.length > 0 && size + cost > MAX_PRESENCE_MESSAGE_BYTES) {
      messages.push(encode(batch))
      batch = []
      size = 0
    }
    batch.push(entry)
    size += cost
  }
  if (batch.length > 0) messages.push(encode(batch))
  return messages
}

/**
 * Awareness (presence) for one room: who is connected and what they are looking at (SPEC §6).
 * The server keeps the latest state per client only to greet newcomers and to announce a client
 * gone when its connection closes; it never interprets the states. Same acceptance rule as
 * y-protocols' Awareness: a newer clock wins, and at an equal clock a removal wins.
 */
import type { AwarenessEntry } from './messages.js'

const REMOVED = 'null'

export class Presence<Conn> {
  private readonly states = new Map<number, { clock: number; state: string }>()
  /** Which connection speaks for which client ids, so a closing connection can be cleaned up. */
  private readonly owners = new Map<Conn, Set<number>>()

  /** Applies entries from `conn`; returns the ones that changed something, to relay. */
  apply(conn: Conn, entries: AwarenessEntry[]): AwarenessEntry[] {
    const accepted: AwarenessEntry[] = []
    for (const entry of entries) {
      const current = this.states.get(entry.clientId)
      const newer = !current || entry.clock > current.clock
      const removalAtSameClock = current && entry.clock === current.clock && entry.state === REMOVED && current.state !== REMOVED
      if (!newer && !removalAtSameClock) continue
      this.states.set(entry.clientId, { clock: entry.clock, state: entry.state })
      let owned = this.owners.get(conn)
      if (!owned) this.owners.set(conn, (owned = new Set()))
      if (entry.state === REMOVED) owned.delete(entry.clientId)
      else owned.add(entry.clientId)
      accepted.push(entry)
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
    const owned = this.owners.get(conn)
    this.owners.delete(conn)
    const removals: AwarenessEntry[] = []
    for (const clientId of owned ?? []) {
      const current = this.states.get(clientId)
      if (!current || current.state === REMOVED) continue
      const clock = current.clock + 1
      // Kept as a tombstone with the bumped clock, so a late copy of the old state is refused.
      this.states.set(clientId, { clock, state: REMOVED })
      removals.push({ clientId, clock, state: REMOVED })
    }
    return removals
  }
}

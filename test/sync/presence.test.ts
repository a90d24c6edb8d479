/**
 * The server's presence table (sync-server/src/presence.ts): removals are kept as tombstones so
 * a late copy of a departed client's state is refused, but only for PRESENCE_TOMBSTONE_TTL_MS,
 * so client ids that came and went do not pile up for the life of a room.
 */
import { describe, expect, it } from 'vitest'
import { Presence, PRESENCE_TOMBSTONE_TTL_MS } from '../../sync-server/src/presence.js'

const state = (clientId: number, clock: number, value: unknown = { viewer: clientId }) => ({
  clientId,
  clock,
  state: JSON.stringify(value),
})

describe('presence tombstones', () => {
  it('refuse a late copy while young, and are forgotten once older than the TTL', () => {
    let now = 1_000_000
    const presence = new Presence<string>(() => now)
    presence.apply('conn-1', [state(1, 5)])
    presence.apply('conn-2', [state(2, 1)])
    expect(presence.drop('conn-1')).toEqual([{ clientId: 1, clock: 6, state: 'null' }])
    expect(presence.size).toBe(2) // client 2, and client 1's tombstone

    // A copy of client 1's old state, still in flight on another connection, is refused.
    now += PRESENCE_TOMBSTONE_TTL_MS / 2
    expect(presence.apply('conn-2', [state(1, 5)])).toEqual([])
    expect(presence.all().map((e) => e.clientId)).toEqual([2])

    // Past the TTL the tombstone goes, on the next thing the table does.
    now += PRESENCE_TOMBSTONE_TTL_MS
    presence.apply('conn-2', [state(2, 2)])
    expect(presence.size).toBe(1)
    expect(presence.all().map((e) => e.clientId)).toEqual([2])
  })

  it('stay bounded however many clients come and go', () => {
    let now = 0
    const presence = new Presence<number>(() => now)
    const VISITS = 1_000
    /** Each visit a new client id (a reloaded page), one second apart. */
    const VISIT_GAP_MS = 1_000
    for (let i = 0; i < VISITS; i++) {
      presence.apply(i, [state(100 + i, 1)])
      presence.drop(i)
      now += VISIT_GAP_MS
    }
    // Only the tombstones of the last TTL's worth of visits are left.
    expect(presence.size).toBeLessThanOrEqual(PRESENCE_TOMBSTONE_TTL_MS / VISIT_GAP_MS + 1)
    expect(presence.all()).toEqual([])
  })

  it('a removal sent by the client itself is a tombstone too, and expires the same way', () => {
    let now = 0
    const presence = new Presence<string>(() => now)
    presence.apply('c', [state(7, 1)])
    expect(presence.apply('c', [{ clientId: 7, clock: 2, state: 'null' }])).toHaveLength(1)
    expect(presence.apply('c', [state(7, 1)])).toEqual([]) // older copy refused
    now += PRESENCE_TOMBSTONE_TTL_MS + 1
    presence.drop('c')
    expect(presence.size).toBe(0)
  })
})

/**
 * What a room does when Yjs throws on an update that decoded (docs/sync.md, "What the server does
 * with a message"): the document, which may hold half of that update, is rebuilt from the store
 * plus the updates that applied cleanly. Until the swap, nothing may be attached to, applied to
 * or written from the broken copy, or an edit arriving in that window would be lost at the swap
 * (or the half update would reach the disk). An apply that fails halfway is made through the
 * room's apply seam; the store's load is held open to widen the window.
 */
import { until } from '../helpers/wait.js'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DEFAULT_GROUP, placeTab, readLayout, setTitle } from '@tabula/protocol'
import { createLogger } from '@tabula/server-kit'
import { Room, REBUILD_RETRY_BASE_MS, type ApplyUpdate, type Peer } from '../../sync-server/src/room.js'
import type { DocStore } from '../../sync-server/src/store.js'

const NAME = 'b16f79b5-3c2e-4b8a-9d41-7e2f0c6a1d55'
const GOOD = 'tab-10000000-0000-4000-8000-000000000001'
const UNSAVED = 'tab-10000000-0000-4000-8000-000000000002'
const HALF = 'tab-10000000-0000-4000-8000-000000000003'
const DURING = 'tab-10000000-0000-4000-8000-000000000004'
const AFTER = 'tab-10000000-0000-4000-8000-000000000005'
const CLOSE_RELOADED = 1011
const CLOSE_TRY_AGAIN = 1013

/** An update, made elsewhere, that places `key` with a title. */
function updatePlacing(key: string): Uint8Array {
  const doc = new Y.Doc()
  placeTab(doc, key, DEFAULT_GROUP, null, null)
  setTitle(doc, key, key.slice(-1))
  return Y.encodeStateAsUpdate(doc)
}

/** A store whose loads can be held (the rebuild is then in progress) or made to fail. */
class HeldStore implements DocStore {
  blob: Uint8Array | null = null
  saves = 0
  failLoads = 0
  private held: Promise<void> | null = null
  private releaseHeld: () => void = () => {}

  hold(): void {
    this.held = new Promise((resolve) => (this.releaseHeld = resolve))
  }
  release(): void {
    this.held = null
    this.releaseHeld()
  }
  async load(): Promise<Uint8Array | null> {
    if (this.held) await this.held
    if (this.failLoads > 0) {
      this.failLoads--
      throw new Error('EIO (simulated)')
    }
    return this.blob
  }
  async save(_name: string, state: Uint8Array): Promise<void> {
    this.saves++
    this.blob = state.slice()
  }
  async list(): Promise<string[]> {
    return this.blob ? [NAME] : []
  }
  async close(): Promise<void> {}
}

class FakePeer implements Peer {
  sent: Uint8Array[] = []
  closedWith: number | null = null
  send(data: Uint8Array): void {
    this.sent.push(data)
  }
  close(code: number): void {
    this.closedWith ??= code
  }
}

function keysIn(doc: Y.Doc): string[] {
  return [...readLayout(doc).placements.keys()].sort()
}

function storedKeys(store: HeldStore): string[] {
  const doc = new Y.Doc()
  if (store.blob) Y.applyUpdateV2(doc, store.blob)
  return keysIn(doc)
}

/** A room whose apply fails halfway through `poison`: part of an update is in, then Yjs throws. */
async function roomWithPoison(store: HeldStore): Promise<{ room: Room; poison: Uint8Array }> {
  const poison = new Uint8Array([0xde, 0xad])
  const half = updatePlacing(HALF)
  const apply: ApplyUpdate = (doc, update, origin) => {
    if (update !== poison) return Y.applyUpdate(doc, update, origin)
    Y.applyUpdate(doc, half, origin)
    throw new Error('simulated: Yjs threw halfway through an update')
  }
  const room = new Room(NAME, store, createLogger('rebuild-test', 'silent'), apply)
  await room.ready
  return { room, poison }
}

const update = (u: Uint8Array) => ({ type: 'sync-update' as const, update: u })

describe('rebuilding a room after a failed apply', () => {
  it('refuses peers, drops their updates and writes nothing until the clean document is in place', async () => {
    const store = new HeldStore()
    const { room, poison } = await roomWithPoison(store)
    const a = new FakePeer()
    room.attach(a)
    expect(room.receive(a, update(updatePlacing(GOOD)))).toBe(true)
    await room.flush()
    expect(room.receive(a, update(updatePlacing(UNSAVED)))).toBe(true) // applied, not yet written

    store.hold()
    expect(room.receive(a, update(poison))).toBe(false)
    expect(room.isRebuilding).toBe(true)
    expect(keysIn(room.doc)).toContain(HALF) // the broken copy holds the half update
    expect(a.closedWith).toBe(CLOSE_RELOADED)

    // A viewer arriving now is not greeted from the broken copy but told to come back ...
    const late = new FakePeer()
    room.attach(late)
    expect(late.closedWith).toBe(CLOSE_TRY_AGAIN)
    expect(late.sent).toEqual([])
    // ... and what it (or a closed peer) still sends is not applied to a document about to go.
    const during = updatePlacing(DURING)
    expect(room.receive(late, update(during))).toBe(false)
    expect(room.receive(a, update(during))).toBe(false)
    expect(keysIn(room.doc)).not.toContain(DURING)
    // A write asked for meanwhile does not put the half update on disk.
    const savesBefore = store.saves
    await room.flush()
    expect(store.saves).toBe(savesBefore)
    expect(storedKeys(store)).not.toContain(HALF)

    store.release()
    await room.settled()
    expect(room.isRebuilding).toBe(false)
    expect(keysIn(room.doc)).toEqual([GOOD, UNSAVED].sort())
    expect(storedKeys(store)).toEqual([GOOD, UNSAVED].sort())

    // Afterwards viewers are greeted again, and the refused one's edit lands when it resends it.
    const back = new FakePeer()
    room.attach(back)
    expect(back.closedWith).toBeNull()
    expect(back.sent.length).toBeGreaterThan(0)
    expect(room.receive(back, update(during))).toBe(true)
    expect(room.receive(back, update(updatePlacing(AFTER)))).toBe(true)
    await room.close()
    expect(storedKeys(store)).toEqual([GOOD, UNSAVED, DURING, AFTER].sort())
  })

  it('keeps trying when the store cannot be read, and finishes once it can', async () => {
    const store = new HeldStore()
    const { room, poison } = await roomWithPoison(store)
    const a = new FakePeer()
    room.attach(a)
    room.receive(a, update(updatePlacing(GOOD)))
    store.failLoads = 2
    room.receive(a, update(poison))
    const refused = new FakePeer()
    room.attach(refused)
    expect(refused.closedWith).toBe(CLOSE_TRY_AGAIN)
    // Two failed loads back off REBUILD_RETRY_BASE_MS, then twice that; the deadline is generous.
    await until('the rebuild finished', () => !room.isRebuilding, 100 * REBUILD_RETRY_BASE_MS)
    expect(store.failLoads).toBe(0)
    expect(keysIn(room.doc)).toEqual([GOOD])
    expect(storedKeys(store)).toEqual([GOOD])
    await room.close()
  })
})

/**
 * Which rooms are loaded, and for how long (docs/sync.md, "Unloading"). A room is opened on first
 * use and held by leases (one per connection, one per local writer); a grace period after the
 * last lease is let go it is written and unloaded. A room whose final write fails stays loaded
 * (nothing is lost) and the unload is tried again, backing off.
 */
import { backoffDelay } from '@tabula/protocol'
import type { Logger } from '@tabula/server-kit'
import type { LoadedRoom, RoomEngine } from './rooms.js'

/**
 * Longest wait between attempts to unload a document whose final write failed (the first
 * retry waits one grace, each next one twice as long, up to this). The document stays loaded
 * meanwhile, so nothing is lost; retrying means a store that recovers (disk space freed) lets
 * it go without waiting for someone to connect and leave again.
 */
export const UNLOAD_RETRY_MAX_MS = 5 * 60_000

/** One use of a room; `release` (idempotent) lets go of it. */
export interface RoomLease {
  readonly room: LoadedRoom
  release(): void
}

/** A loaded room with what keeps it loaded: its lease count and its pending unload. */
class Slot {
  /** Leases held, counted before loading finishes so that an unload cannot race a connection. */
  refs = 0
  unloadTimer: NodeJS.Timeout | null = null

  constructor(readonly room: LoadedRoom) {}

  cancelUnload(): void {
    if (this.unloadTimer) clearTimeout(this.unloadTimer)
    this.unloadTimer = null
  }
}

export class RoomRegistry {
  private readonly slots = new Map<string, Slot>()
  private closing = false

  constructor(
    private readonly engine: RoomEngine,
    private readonly log: Logger,
    private readonly graceMs: number,
  ) {}

  get size(): number {
    return this.slots.size
  }

  /** The room for `name`, loaded on first use, held until the lease is released. */
  acquire(name: string): RoomLease {
    const slot = this.slots.get(name) ?? this.open(name)
    slot.cancelUnload()
    slot.refs++
    let held = true
    return {
      room: slot.room,
      release: () => {
        if (!held) return
        held = false
        slot.refs--
        this.scheduleUnload(slot, this.graceMs, 0)
      },
    }
  }

  private open(name: string): Slot {
    const slot = new Slot(this.engine.open(name))
    this.slots.set(name, slot)
    slot.room.ready.catch((err) => {
      this.log.error({ err, workspace: name }, 'cannot load the layout document; it is left untouched on disk')
      if (this.slots.get(name) === slot) this.slots.delete(name)
    })
    return slot
  }

  /** Unloads the slot's room after `delayMs` if nobody holds it by then; `failures` counts failed writes so far. */
  private scheduleUnload(slot: Slot, delayMs: number, failures: number): void {
    if (slot.refs > 0 || this.closing || this.slots.get(slot.room.name) !== slot || slot.unloadTimer) return
    slot.unloadTimer = setTimeout(() => void this.unload(slot, failures), delayMs)
  }

  private async unload(slot: Slot, failures: number): Promise<void> {
    slot.unloadTimer = null
    const { room } = slot
    try {
      await room.settled()
      await room.flush()
    } catch {
      // Logged by the room, which stays loaded and keeps retrying the write, so nothing is lost.
      // Try the unload again too, backing off, so the room does not stay loaded until the next
      // connection comes and goes. A lease taken meanwhile cancels this (acquire).
      const wait = backoffDelay(failures, this.graceMs, UNLOAD_RETRY_MAX_MS)
      this.scheduleUnload(slot, wait, failures + 1)
      return
    }
    // Someone may have arrived while the write was in flight.
    if (slot.refs > 0 || this.slots.get(room.name) !== slot) return
    this.slots.delete(room.name)
    await room.close()
    this.log.debug({ workspace: room.name }, 'layout document unloaded')
  }

  /** Writes every loaded room that has unsaved changes. */
  async flush(): Promise<void> {
    await Promise.all([...this.slots.values()].map((slot) => slot.room.flush()))
  }

  /** Shutdown: closes every room (each writes what is unwritten); resolves to how many could not be saved. */
  async close(): Promise<number> {
    this.closing = true
    const slots = [...this.slots.values()]
    for (const slot of slots) slot.cancelUnload()
    const results = await Promise.allSettled(
      slots.map(async ({ room }) => {
        await room.ready.catch(() => {})
        await room.close()
      }),
    )
    this.slots.clear()
    return results.filter((r) => r.status === 'rejected').length
  }
}

/**
 * The seam between the connection handling (index.ts) and where rooms live. The default engine
 * keeps each room's document in this process and on disk (room.ts, store.ts); the Redis engine
 * (redis/) keeps none to itself and shares rooms with every instance on the same Redis
 * (docs/sync.md, "Many instances on Redis"). Connections (connection.ts), how long a room stays
 * loaded (registry.ts), auth and bounds on sockets are the same for both.
 */
import type * as Y from 'yjs'
import type { Logger } from '@tabula/server-kit'
import type { ClientMessage } from './messages.js'
import { Room, type Peer } from './room.js'
import type { DocStore } from './store.js'

/** One room while connections use it. */
export interface LoadedRoom {
  readonly name: string
  /** Resolves when the room can take connections; rejects when it cannot be opened. */
  readonly ready: Promise<void>
  attach(peer: Peer): void
  detach(peer: Peer): void
  /** Acts on one validated message from `peer` (in order per peer). */
  receive(peer: Peer, message: ClientMessage): unknown
  /** Resolves once the room can take a local edit. */
  settled(): Promise<void>
  /**
   * Runs `edit` on the current document; what it changed is relayed and made durable before the
   * promise resolves, to `edit`'s result.
   */
  edit(edit: (doc: Y.Doc) => boolean): Promise<boolean>
  /** Makes every change made so far durable. */
  flush(): Promise<void>
  /** Flushes and lets go; the room must not be used afterwards. */
  close(): Promise<void>
}

export interface RoomEngine {
  open(name: string): LoadedRoom
  /** Why connections are refused right now (the backing store is unreachable), else null. */
  unavailable(): string | null
  close(): Promise<void>
}

/** Rooms in this process, documents in `store` (the default). */
export function localRooms(store: DocStore, log: Logger): RoomEngine {
  return {
    open(name) {
      const room = new Room(name, store, log)
      return Object.assign(room, {
        async edit(edit: (doc: Y.Doc) => boolean): Promise<boolean> {
          let result = false
          room.change((doc) => {
            result = edit(doc)
          })
          if (result) await room.flush()
          return result
        },
      })
    },
    unavailable: () => null,
    close: () => store.close(),
  }
}

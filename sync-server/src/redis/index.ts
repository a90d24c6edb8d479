/**
 * The Redis room engine: any number of sync instances on one Redis serve any room, and none keeps
 * a room to itself (docs/sync.md, "Many instances on Redis").
 */
import type { Logger } from '@tabula/server-kit'
import type { RoomEngine } from '../rooms.js'
import { RedisBackend, redactUrl } from './backend.js'
import { RedisRoom } from './room.js'

export { COMPACT_AFTER_UPDATES, COMPACT_LEASE_MS, REDIS_COMMAND_TIMEOUT_MS, redactUrl } from './backend.js'
export { MAX_PENDING_BYTES } from './room.js'

export interface RedisEngine extends RoomEngine {
  /** Names of every room stored in this Redis. */
  storedRooms(): Promise<string[]>
}

/** Connects to `url` (redis://HOST:PORT[/DB]); rejects with the reason when Redis cannot be reached. */
export async function createRedisRooms(url: string, log: Logger): Promise<RedisEngine> {
  const open = new Set<RedisRoom>()
  let conn = 0
  const backend = await RedisBackend.connect({
    url,
    log,
    onAvailability(up) {
      if (!up) for (const room of open) room.dropAll()
    },
  })
  log.info({ redis: redactUrl(url) }, 'layout documents live in redis')
  return {
    open(name) {
      const room = new RedisRoom(
        name,
        backend,
        log,
        () => (conn = (conn + 1) >>> 0 || 1),
        (gone) => open.delete(gone),
      )
      open.add(room)
      return room
    },
    unavailable: () => (backend.available ? null : 'redis is unreachable; try again shortly'),
    storedRooms: () => backend.rooms(),
    close: () => backend.close(),
  }
}
